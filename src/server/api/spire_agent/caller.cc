#include "server/api/spire_agent/caller.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireagent {

absl::StatusOr<AuthenticatedAgent> AuthenticateCaller(const AgentApiDeps& deps, const grpc::ServerContext& ctx) {
  auto a = AuthenticateAgent(deps.Auth(), ctx);
  if (!a.ok()) deps.metrics.agent_auth_failures++;
  return a;
}

grpc::Status DownstreamOnly(std::string_view method) {
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat(ToAbsl(method),
                   " may only be called by a downstream server; downstream callers are not supported yet"));
}

void X509SvidToProto(const std::string& spiffe_id, const SignedX509Svid& svid, sapi::X509SVID* out) {
  spireapi::IdToProto(spiffe_id, out->mutable_id());
  for (const auto& c : svid.chain_der) out->add_cert_chain(c);
  out->set_expires_at(absl::ToUnixSeconds(svid.not_after));
}

std::map<std::string, EntryPtr, std::less<>> AuthorizedEntriesById(const AgentApiDeps& deps,
                                                                   const AuthenticatedAgent& agent) {
  std::map<std::string, EntryPtr, std::less<>> by_id;
  for (auto& e : deps.entries.AuthorizedEntries(agent.spiffe_id, agent.node.selectors)) by_id[e->id] = e;
  return by_id;
}

}  // namespace spirecvm::server::spireagent
