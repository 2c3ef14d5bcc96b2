#!/usr/bin/python3
"""An independent SPIFFE Workload API client, written from the SPIFFE proto (proto/workload.proto) with Debian's
python3-grpcio: it shares no code with the agent. Stubs are generated at test time into --gen-dir.

Subcommands print one JSON object on stdout and exit 0 when the call behaved as expected:
  x509     FetchX509SVID first message (--expect-code to require an error code, --no-header to omit the header,
           --write DIR to write svid.N.der/bundle.N.der)
  bundles  FetchX509Bundles and FetchJWTBundles first messages
  jwt      FetchJWTSVID --audience A [--spiffe-id ID]
  validate ValidateJWTSVID --audience A --svid T
  watch    FetchX509SVID stream: print a line per message until --count messages or --timeout seconds
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys


def generate_stubs(proto_dir, gen_dir):
    os.makedirs(gen_dir, exist_ok=True)
    if not os.path.exists(os.path.join(gen_dir, "workload_pb2_grpc.py")):
        subprocess.check_call([
            "protoc", "-I", proto_dir, "-I", "/usr/include",
            "--python_out=" + gen_dir, "--grpc_python_out=" + gen_dir,
            "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
            os.path.join(proto_dir, "workload.proto")])
    sys.path.insert(0, gen_dir)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["x509", "bundles", "jwt", "validate", "watch"])
    p.add_argument("--socket", required=True)
    p.add_argument("--gen-dir", default=os.environ.get("WORKLOAD_CLIENT_GEN_DIR", "/tmp/workload_client_gen"))
    p.add_argument("--proto-dir", default=os.path.join(here, "..", "..", "proto"))
    p.add_argument("--no-header", action="store_true")
    p.add_argument("--expect-code", default="OK")
    p.add_argument("--audience", action="append", default=[])
    p.add_argument("--spiffe-id", default="")
    p.add_argument("--svid", default="")
    p.add_argument("--write", default="")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()

    generate_stubs(a.proto_dir, a.gen_dir)
    import grpc
    import workload_pb2 as pb
    import workload_pb2_grpc as pbg

    channel = grpc.insecure_channel("unix:" + a.socket)
    stub = pbg.SpiffeWorkloadAPIStub(channel)
    md = [] if a.no_header else [("workload.spiffe.io", "true")]

    def done(result, code="OK"):
        result["code"] = code
        print(json.dumps(result, sort_keys=True))
        sys.exit(0 if code == a.expect_code else 1)

    def leaf_info(der_chain):
        # DER chain: the first certificate's length is in its outer SEQUENCE header.
        n = der_chain[1]
        if n & 0x80:
            k = n & 0x7f
            length = int.from_bytes(der_chain[2:2 + k], "big") + 2 + k
        else:
            length = n + 2
        leaf = der_chain[:length]
        return {"leaf_sha256": hashlib.sha256(leaf).hexdigest(), "chain_len": len(der_chain)}

    try:
        if a.command == "x509":
            stream = stub.FetchX509SVID(pb.X509SVIDRequest(), metadata=md, timeout=a.timeout)
            resp = next(iter(stream))
            stream.cancel()
            out = {"svids": []}
            for i, s in enumerate(resp.svids):
                info = {"spiffe_id": s.spiffe_id, "has_key": len(s.x509_svid_key) > 0,
                        "bundle_len": len(s.bundle), "hint": s.hint}
                info.update(leaf_info(s.x509_svid))
                out["svids"].append(info)
                if a.write:
                    os.makedirs(a.write, exist_ok=True)
                    open(os.path.join(a.write, "svid.%d.der" % i), "wb").write(s.x509_svid)
                    open(os.path.join(a.write, "bundle.%d.der" % i), "wb").write(s.bundle)
                    open(os.path.join(a.write, "key.%d.der" % i), "wb").write(s.x509_svid_key)
            done(out)
        elif a.command == "bundles":
            x = next(iter(stub.FetchX509Bundles(pb.X509BundlesRequest(), metadata=md, timeout=a.timeout)))
            j = next(iter(stub.FetchJWTBundles(pb.JWTBundlesRequest(), metadata=md, timeout=a.timeout)))
            jwks = {td: json.loads(v) for td, v in j.bundles.items()}
            done({"x509": {td: len(v) for td, v in x.bundles.items()},
                  "jwt_kids": {td: [k.get("kid") for k in v.get("keys", [])] for td, v in jwks.items()}})
        elif a.command == "jwt":
            resp = stub.FetchJWTSVID(pb.JWTSVIDRequest(audience=a.audience, spiffe_id=a.spiffe_id),
                                     metadata=md, timeout=a.timeout)
            done({"svids": [{"spiffe_id": s.spiffe_id, "svid": s.svid} for s in resp.svids]})
        elif a.command == "validate":
            resp = stub.ValidateJWTSVID(pb.ValidateJWTSVIDRequest(audience=a.audience[0], svid=a.svid),
                                        metadata=md, timeout=a.timeout)
            done({"spiffe_id": resp.spiffe_id, "sub": resp.claims.fields["sub"].string_value})
        elif a.command == "watch":
            stream = stub.FetchX509SVID(pb.X509SVIDRequest(), metadata=md, timeout=a.timeout)
            n = 0
            for resp in stream:
                line = {"n": n, "svids": []}
                for s in resp.svids:
                    info = {"spiffe_id": s.spiffe_id}
                    info.update(leaf_info(s.x509_svid))
                    line["svids"].append(info)
                print(json.dumps(line, sort_keys=True), flush=True)
                n += 1
                if n >= a.count:
                    stream.cancel()
                    break
            done({"messages": n})
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.CANCELLED and a.command == "watch":
            done({"cancelled": True})
        done({"details": e.details()}, e.code().name)


if __name__ == "__main__":
    main()
