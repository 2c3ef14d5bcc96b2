// spire-agent api fetch jwt -audience A [-spiffeID ID]: prints each token and the JWT bundles.
#include <google/protobuf/util/json_util.h>

#include <optional>

#include "absl/strings/str_split.h"
#include "api_print.h"
#include "cli_common.h"
#include "workload.grpc.pb.h"

namespace spirecvm::cli::agent {
namespace {

struct FetchJwtFlags {
  std::string socket_path = DefaultSocketPath();
  std::vector<std::string> audience;
  std::string spiffe_id, output = "pretty";
  absl::Duration timeout = absl::Seconds(5);
};

// SPIRE takes a comma-separated list, and the flag may repeat.
std::vector<std::string> SplitAudience(const std::vector<std::string>& flags) {
  std::vector<std::string> aud;
  for (const auto& a : flags) {
    for (absl::string_view part : absl::StrSplit(a, ',', absl::SkipEmpty())) aud.emplace_back(part);
  }
  return aud;
}

// The JWT bundles, or nothing when the stream yields no message (the tokens are printed anyway).
std::optional<JWTBundlesResponse> FetchBundles(SpiffeWorkloadAPI::Stub& stub, absl::Duration timeout) {
  JWTBundlesResponse bundles;
  auto ctx = WorkloadContext(timeout);
  auto reader = stub.FetchJWTBundles(ctx.get(), JWTBundlesRequest());
  const bool got = reader->Read(&bundles);
  ctx->TryCancel();
  (void)reader->Finish();
  if (!got) return std::nullopt;
  return bundles;
}

void PrintJwt(const JWTSVIDResponse& resp, const std::optional<JWTBundlesResponse>& bundles, const std::string& output,
              Io io) {
  if (output == "json") {
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    std::string a, b;
    (void)google::protobuf::util::MessageToJsonString(resp, &a, o);
    (void)google::protobuf::util::MessageToJsonString(bundles.value_or(JWTBundlesResponse()), &b, o);
    io.out << "[" << a << "," << b << "]\n";
    return;
  }
  for (const auto& s : resp.svids()) {
    io.out << "token(" << s.spiffe_id() << "):\n\t" << s.svid() << "\n";
    if (!s.hint().empty()) io.out << "hint(" << s.spiffe_id() << "):\n\t" << s.hint() << "\n";
  }
  if (bundles.has_value()) {
    for (const auto& [td, jwks] : bundles->bundles()) io.out << "bundle(" << td << "):\n\t" << jwks << "\n";
  }
}

}  // namespace

int ApiFetchJwtCommand(const std::vector<std::string>& args, Io io) {
  FetchJwtFlags f;
  flags::FlagSet fs("api fetch jwt");
  fs.StringList("audience", &f.audience, "comma separated list of audience values");
  fs.String("spiffeID", &f.spiffe_id, "SPIFFE ID subject (optional)");
  fs.String("socketPath", &f.socket_path, "Path to the SPIFFE Workload API socket");
  fs.Duration("timeout", &f.timeout, "Time to wait for a response");
  fs.String("output", &f.output, "Desired output format (pretty, json)");
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  const std::vector<std::string> aud = SplitAudience(f.audience);
  if (aud.empty()) {
    io.err << "audience must be specified\n";
    return 1;
  }
  auto stub = SpiffeWorkloadAPI::NewStub(WorkloadChannel(f.socket_path));
  JWTSVIDRequest req;
  for (const auto& a : aud) req.add_audience(a);
  req.set_spiffe_id(f.spiffe_id);
  JWTSVIDResponse resp;
  auto ctx = WorkloadContext(f.timeout);
  if (grpc::Status st = stub->FetchJWTSVID(ctx.get(), req, &resp); !st.ok()) {
    io.err << RpcError(st) << "\n";
    return 1;
  }
  PrintJwt(resp, FetchBundles(*stub, f.timeout), f.output, io);
  return 0;
}

}  // namespace spirecvm::cli::agent
