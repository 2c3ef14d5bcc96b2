"""Workload API client built on py-spiffe (the `spiffe` package from PyPI), a second independent implementation.

Fetches the caller's X509-SVID, the X.509 bundles and a JWT-SVID, checks them against each other (the leaf is
signed by a served root, the JWT validates locally against the served JWT bundle and through the agent's
ValidateJWTSVID, and not for another audience) and prints one JSON object. Exits 1 with a message otherwise.
Usage: py_spiffe_client.py --socket PATH --audience AUD
"""
import argparse
import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import Encoding
from spiffe import JwtSvid, WorkloadApiClient


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def x509_part(client):
    svid = client.fetch_x509_svid()
    bundles = client.fetch_x509_bundles()
    own = bundles.get_bundle_for_trust_domain(svid.spiffe_id.trust_domain)
    if own is None:
        fail(f"no X.509 bundle for the SVID's trust domain {svid.spiffe_id.trust_domain}")
    issuer = svid.cert_chain[-1]
    if not any(_issued_by(issuer, root) for root in own.x509_authorities):
        fail("the SVID chain does not end at a served root")
    return {
        "spiffe_id": str(svid.spiffe_id),
        "chain_length": len(svid.cert_chain),
        "leaf_sha256": hashlib.sha256(svid.leaf.public_bytes(Encoding.DER)).hexdigest(),
        "bundles": sorted([str(b.trust_domain), len(b.x509_authorities)] for b in bundles.bundles),
        "chain_verified": True,
        "roots_sha256": sorted(hashlib.sha256(r.public_bytes(Encoding.DER)).hexdigest() for r in own.x509_authorities),
    }


def _issued_by(cert, root):
    try:
        cert.verify_directly_issued_by(root)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not this root"
        return False


def jwt_part(client, audience):
    svid = client.fetch_jwt_svid(audience={audience})
    jwt_bundles = client.fetch_jwt_bundles()
    bundle = jwt_bundles.get_bundle_for_trust_domain(svid.spiffe_id.trust_domain)
    if bundle is None:
        fail(f"no JWT bundle for {svid.spiffe_id.trust_domain}")
    local = JwtSvid.parse_and_validate(svid.token, bundle, {audience})
    remote = client.validate_jwt_svid(svid.token, audience)
    try:
        JwtSvid.parse_and_validate(svid.token, bundle, {audience + "-other"})
        other_accepted = True
    except Exception:  # noqa: BLE001 - any refusal is what we want
        other_accepted = False
    if other_accepted:
        fail("the JWT-SVID validated for an audience it was not issued for")
    return {
        "spiffe_id": str(svid.spiffe_id),
        "audience": sorted(svid.audience),
        "jwt_keys": sorted(bundle.jwt_authorities.keys()),
        "validated_locally": str(local.spiffe_id),
        "validated_by_agent": str(remote.spiffe_id),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--audience", default="py-interop")
    a = p.parse_args()
    client = WorkloadApiClient(socket_path=f"unix://{a.socket}", default_timeout=30)
    try:
        out = {"x509": x509_part(client), "jwt": jwt_part(client, a.audience)}
    finally:
        client.close()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
