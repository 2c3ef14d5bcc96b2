// spire-agent api fetch jwt -audience A [-spiffeID ID]: prints each token and the JWT bundles.
#include <google/protobuf/util/json_util.h>

#include <iostream>

#include "api_print.h"
#include "cli_common.h"
#include "workload.grpc.pb.h"

namespace spirecvm::cli::agent {

int ApiFetchJwtCommand(const std::vector<std::string>& args) {
  std::string socket_path = DefaultSocketPath();
  std::vector<std::string> audience;
  std::string spiffe_id, output = "pretty";
  absl::Duration timeout = absl::Seconds(5);
  flags::FlagSet fs("api fetch jwt");
  fs.StringList("audience", &audience, "comma separated list of audience values");
  fs.String("spiffeID", &spiffe_id, "SPIFFE ID subject (optional)");
  fs.String("socketPath", &socket_path, "Path to the SPIFFE Workload API socket");
  fs.Duration("timeout", &timeout, "Time to wait for a response");
  fs.String("output", &output, "Desired output format (pretty, json)");
  int code = 0;
  if (!ParseFlags(fs, args, &code)) return code;
  // SPIRE takes a comma-separated list.
  std::vector<std::string> aud;
  for (const auto& a : audience) {
    size_t start = 0;
    for (;;) {
      size_t comma = a.find(',', start);
      std::string part = a.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) aud.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (aud.empty()) {
    std::cerr << "audience must be specified\n";
    return 1;
  }
  auto stub = SpiffeWorkloadAPI::NewStub(WorkloadChannel(socket_path));
  JWTSVIDRequest req;
  for (const auto& a : aud) req.add_audience(a);
  req.set_spiffe_id(spiffe_id);
  JWTSVIDResponse resp;
  auto ctx = WorkloadContext(absl::ToDoubleSeconds(timeout));
  grpc::Status st = stub->FetchJWTSVID(ctx.get(), req, &resp);
  if (!st.ok()) {
    std::cerr << "rpc error: code = " << GrpcCodeName(st.error_code()) << " desc = " << st.error_message() << "\n";
    return 1;
  }
  JWTBundlesResponse bundles;
  auto bctx = WorkloadContext(absl::ToDoubleSeconds(timeout));
  auto reader = stub->FetchJWTBundles(bctx.get(), JWTBundlesRequest());
  bool got_bundles = reader->Read(&bundles);
  bctx->TryCancel();
  (void)reader->Finish();
  if (output == "json") {
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    std::string a, b;
    (void)google::protobuf::util::MessageToJsonString(resp, &a, o);
    (void)google::protobuf::util::MessageToJsonString(bundles, &b, o);
    std::cout << "[" << a << "," << b << "]\n";
    return 0;
  }
  for (const auto& s : resp.svids()) {
    std::cout << "token(" << s.spiffe_id() << "):\n\t" << s.svid() << "\n";
    if (!s.hint().empty()) std::cout << "hint(" << s.spiffe_id() << "):\n\t" << s.hint() << "\n";
  }
  if (got_bundles) {
    for (const auto& [td, jwks] : bundles.bundles()) std::cout << "bundle(" << td << "):\n\t" << jwks << "\n";
  }
  return 0;
}

}  // namespace spirecvm::cli::agent
