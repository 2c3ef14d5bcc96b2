// spire-agent api validate jwt -audience A -svid TOKEN
#include <google/protobuf/util/json_util.h>

#include "api_print.h"
#include "cli_common.h"
#include "workload.grpc.pb.h"

namespace spirecvm::cli::agent {

int ApiValidateJwtCommand(const std::vector<std::string>& args, Io io) {
  std::string socket_path = DefaultSocketPath();
  std::string audience, svid, output = "pretty";
  absl::Duration timeout = absl::Seconds(5);
  flags::FlagSet fs("api validate jwt");
  fs.String("audience", &audience, "expected audience value");
  fs.String("svid", &svid, "JWT SVID");
  fs.String("socketPath", &socket_path, "Path to the SPIFFE Workload API socket");
  fs.Duration("timeout", &timeout, "Time to wait for a response");
  fs.String("output", &output, "Desired output format (pretty, json)");
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  if (audience.empty()) {
    io.err << "audience must be specified\n";
    return 1;
  }
  if (svid.empty()) {
    io.err << "svid must be specified\n";
    return 1;
  }
  auto stub = SpiffeWorkloadAPI::NewStub(WorkloadChannel(socket_path));
  ValidateJWTSVIDRequest req;
  req.set_audience(audience);
  req.set_svid(svid);
  ValidateJWTSVIDResponse resp;
  auto ctx = WorkloadContext(timeout);
  grpc::Status st = stub->ValidateJWTSVID(ctx.get(), req, &resp);
  if (!st.ok()) {
    io.err << "SVID is not valid: " << RpcError(st) << "\n";
    return 1;
  }
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (output == "json") {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(resp, &json, o);
    io.out << json << "\n";
    return 0;
  }
  std::string claims;
  (void)google::protobuf::util::MessageToJsonString(resp.claims(), &claims, o);
  io.out << "SVID is valid.\nSPIFFE ID : " << resp.spiffe_id() << "\nClaims    : " << claims << "\n";
  return 0;
}

}  // namespace spirecvm::cli::agent
