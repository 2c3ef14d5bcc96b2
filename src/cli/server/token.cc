// spire-server token generate: SPIRE's agent.v1 CreateJoinToken.
#include <limits>

#include "cli/server/cli_common.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"

namespace spirecvm::cli {

int TokenGenerate(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("token generate");
  ServerFlags server;
  std::string spiffe_id;
  int64_t ttl = 600;
  server.Register(fs);
  fs.Int("ttl", &ttl, "Token TTL in seconds");
  fs.String("spiffeID", &spiffe_id, "Additional SPIFFE ID to assign the token owner (optional)");
  if (!server.Parse(fs, args, io)) return 1;
  ::spire::api::server::agent::v1::CreateJoinTokenRequest req;
  if (!spiffe_id.empty()) {
    auto id = ParseId(spiffe_id);
    if (!id.ok()) return Fail(io, id.status().message());
    *req.mutable_agent_id() = *id;
  }
  if (ttl > std::numeric_limits<int32_t>::max() || ttl < std::numeric_limits<int32_t>::min()) {
    return Fail(io, "invalid value for TTL: value out of range");
  }
  req.set_ttl(static_cast<int32_t>(ttl));
  stypes::JoinToken resp;
  grpc::ClientContext ctx;
  auto s = ::spire::api::server::agent::v1::Agent::NewStub(Dial(server.socket))->CreateJoinToken(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) {
    io.out << SpireJson(resp);
    return 0;
  }
  io.out << "Token: " << resp.value() << "\n";
  if (spiffe_id.empty()) io.out << "Warning: Missing SPIFFE ID.\n";
  return 0;
}

}  // namespace spirecvm::cli
