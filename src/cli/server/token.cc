// spire-server token generate
#include "cli/server/cli_common.h"

namespace spirecvm::cli {

int TokenGenerate(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("token generate");
  std::string socket = kDefaultServerSocket, spiffe_id, output = "pretty";
  int64_t ttl = 600;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("spiffeID", &spiffe_id, "Additional SPIFFE ID to assign the token owner (optional)");
  fs.Int("ttl", &ttl, "Token TTL in seconds");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  if (ttl <= 0 || ttl > INT32_MAX) {
    io.err << "Error: -ttl must be a positive number of seconds\n";
    return 1;
  }
  admin::v1::CreateJoinTokenRequest req;
  req.set_ttl(static_cast<int32_t>(ttl));
  req.set_agent_id(spiffe_id);
  admin::v1::CreateJoinTokenResponse resp;
  grpc::ClientContext ctx;
  auto s = AdminClient(socket)->CreateJoinToken(&ctx, req, &resp);
  if (!s.ok()) return CallFailed(s, io);
  if (output == "json") {
    io.out << ToJson(resp);
  } else {
    io.out << "Token: " << resp.token() << "\n";
  }
  return 0;
}

}  // namespace spirecvm::cli
