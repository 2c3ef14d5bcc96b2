#include "server/api/spire_agent/caller.h"

#include <algorithm>

#include "common/status.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireagent {

absl::StatusOr<AuthenticatedAgent> AuthenticateCaller(const AgentApiDeps& deps, const grpc::ServerContextBase& ctx) {
  auto a = AuthenticateAgent(deps.Auth(), ctx);
  if (!a.ok()) deps.metrics.agent_auth_failures++;
  return a;
}

absl::StatusOr<spiffe::SpiffeId> AuthenticateDownstreamChain(const AgentApiDeps& deps, const std::string& chain_pem,
                                                             std::string_view service, std::string_view method) {
  ASSIGN_OR_RETURN(spiffe::SpiffeId caller, VerifyCallerSvid(deps.Auth(), chain_pem));
  datastore::ListEntriesFilter by_caller;
  by_caller.by_spiffe_id = caller.ToString();
  ASSIGN_OR_RETURN(auto entries, deps.ds.ListEntries(by_caller));
  if (std::none_of(entries.begin(), entries.end(), [](const auto& e) { return e.downstream; })) {
    return spireapi::AuthorizationDenied(service, method);
  }
  return caller;
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
