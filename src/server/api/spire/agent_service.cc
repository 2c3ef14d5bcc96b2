#include "server/api/spire/agent_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "common/uuid.h"
#include "cvm/node_facts.h"
#include "server/api/entry_validation.h"
#include "server/api/spire/convert.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireapi {
namespace {

// The filter of CountAgentsRequest and ListAgentsRequest (same fields, two types), checked once.
template <typename Filter>
absl::StatusOr<std::optional<absl::Time>> CheckFilter(const Filter& f) {
  if (f.has_by_selector_match()) {
    RETURN_IF_ERROR(Annotate(ValidateSelectorMatch(f.by_selector_match()), "failed to parse selectors"));
  }
  if (f.by_expires_before().empty()) return std::optional<absl::Time>();
  auto t = ParseExpiresBefore(f.by_expires_before());
  if (!t.ok()) return Annotate(t.status(), "failed to parse by_expires_before");
  return std::optional<absl::Time>(*t);
}

template <typename Filter>
bool Matches(const Filter& f, std::optional<absl::Time> expires_before, const datastore::AttestedNode& n) {
  if (!f.by_attestation_type().empty() && n.attestation_type != f.by_attestation_type()) return false;
  if (f.has_by_selector_match() && !SelectorsMatch(n.selectors, SelectorsFromProto(f.by_selector_match().selectors()),
                                                   f.by_selector_match().match())) {
    return false;
  }
  if (f.has_by_banned() && n.banned != f.by_banned().value()) return false;
  if (f.has_by_can_reattest() && n.can_reattest != f.by_can_reattest().value()) return false;
  if (expires_before && !(absl::FromUnixSeconds(n.cert_not_after) < *expires_before)) return false;
  return true;
}

// Attested nodes passing the filter, sorted by SPIFFE ID (the DataStore's order, which pagination relies on).
template <typename Filter>
absl::StatusOr<std::vector<datastore::AttestedNode>> Filtered(datastore::DataStore& ds, const Filter& f) {
  ASSIGN_OR_RETURN(auto expires_before, CheckFilter(f));
  auto all = ds.ListAttestedNodes();
  if (!all.ok()) return Annotate(all.status(), "failed to list agents");
  std::erase_if(*all, [&](const auto& n) { return !Matches(f, expires_before, n); });
  return all;
}

absl::Status AgentNotFound(const absl::Status& s, const char* what) {
  if (absl::IsNotFound(s)) return absl::NotFoundError("agent not found");
  return Annotate(s, what);
}

}  // namespace

absl::StatusOr<absl::Time> ParseExpiresBefore(const std::string& s) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  // Go's "2006-01-02 15:04:05 -0700 -07": the trailing zone abbreviation repeats the offset.
  std::string head = s;
  if (auto sp = s.rfind(' '); sp != std::string::npos && std::count(s.begin(), s.end(), ' ') == 3) {
    head = s.substr(0, sp);
  }
  if (absl::ParseTime("%Y-%m-%d %H:%M:%S %z", head, &t, &err)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", s, "\" is neither RFC 3339 nor \"2006-01-02 15:04:05 -0700 -07\""));
}

grpc::Status AgentService::CountAgents(grpc::ServerContext*, const agentv1::CountAgentsRequest* req,
                                       agentv1::CountAgentsResponse* resp) {
  auto list = Filtered(deps_.ds, req->filter());
  if (!list.ok()) return ToGrpc(list.status());
  resp->set_count(static_cast<int32_t>(list->size()));
  return grpc::Status::OK;
}

grpc::Status AgentService::ListAgents(grpc::ServerContext*, const agentv1::ListAgentsRequest* req,
                                      agentv1::ListAgentsResponse* resp) {
  if (req->page_size() < 0) return ToGrpc(absl::InvalidArgumentError("page_size must not be negative"));
  auto list = Filtered(deps_.ds, req->filter());
  if (!list.ok()) return ToGrpc(list.status());
  // The page token is the last SPIFFE ID of the previous page: nodes are sorted by SPIFFE ID.
  auto it = list->begin();
  if (!req->page_token().empty()) {
    it = std::upper_bound(list->begin(), list->end(), req->page_token(),
                          [](const std::string& tok, const auto& n) { return tok < n.spiffe_id; });
  }
  const auto* mask = req->has_output_mask() ? &req->output_mask() : nullptr;
  for (int n = 0; it != list->end() && (req->page_size() == 0 || n < req->page_size()); ++it, ++n) {
    auto* out = resp->add_agents();
    AgentToProto(*it, out);
    ApplyAgentMask(mask, out);
  }
  if (req->page_size() > 0 && it != list->end()) resp->set_next_page_token(std::prev(it)->spiffe_id);
  return grpc::Status::OK;
}

grpc::Status AgentService::GetAgent(grpc::ServerContext* ctx, const agentv1::GetAgentRequest* req,
                                    ::spire::api::types::Agent* resp) {
  return GetAgent(static_cast<grpc::ServerContextBase*>(ctx), req, resp);
}

grpc::Status AgentService::GetAgent(grpc::ServerContextBase* ctx, const agentv1::GetAgentRequest* req,
                                    ::spire::api::types::Agent* resp) {
  auto id = AgentIdFromProto(deps_.trust_domain, req->id());
  if (!id.ok()) return ToGrpc(Annotate(id.status(), "invalid agent ID"));
  auto n = deps_.ds.FetchAttestedNode(id->ToString());
  if (!n.ok()) return ToGrpc(AgentNotFound(n.status(), "failed to fetch agent"));
  AgentToProto(*n, resp);
  ApplyAgentMask(req->has_output_mask() ? &req->output_mask() : nullptr, resp);
  // The node facts (docs/svid-evidence.md) ride outside SPIRE's Agent message.
  if (ctx != nullptr && !n->facts.empty()) ctx->AddTrailingMetadata(std::string(cvm::kNodeFactsMetadataKey), n->facts);
  return grpc::Status::OK;
}

grpc::Status AgentService::DeleteAgent(grpc::ServerContext*, const agentv1::DeleteAgentRequest* req,
                                       google::protobuf::Empty*) {
  auto id = AgentIdFromProto(deps_.trust_domain, req->id());
  if (!id.ok()) return ToGrpc(Annotate(id.status(), "invalid agent ID"));
  auto st = deps_.ds.DeleteAttestedNode(id->ToString());
  if (st.ok()) spdlog::info("agent evicted: {}", id->ToString());
  return ToGrpc(AgentNotFound(st, "failed to remove agent"));
}

grpc::Status AgentService::BanAgent(grpc::ServerContext*, const agentv1::BanAgentRequest* req,
                                    google::protobuf::Empty*) {
  auto id = AgentIdFromProto(deps_.trust_domain, req->id());
  if (!id.ok()) return ToGrpc(Annotate(id.status(), "invalid agent ID"));
  auto st = deps_.ds.BanAttestedNode(id->ToString());
  if (st.ok()) spdlog::info("agent banned: {}", id->ToString());
  return ToGrpc(AgentNotFound(st, "failed to ban agent"));
}

grpc::Status AgentService::CreateJoinToken(grpc::ServerContext*, const agentv1::CreateJoinTokenRequest* req,
                                           ::spire::api::types::JoinToken* resp) {
  if (req->ttl() < 1) return ToGrpc(absl::InvalidArgumentError("ttl is required, you must provide one"));
  const std::string token = req->token().empty() ? NewUuidV4(deps_.rnd) : req->token();
  datastore::RegistrationEntry alias;
  if (req->has_agent_id()) {
    // As SPIRE: the extra SPIFFE ID is a node-alias entry parented by the token's agent ID.
    auto id = MemberIdFromProto(deps_.trust_domain, req->agent_id());
    if (!id.ok()) return ToGrpc(Annotate(id.status(), "invalid agent ID"));
    alias.spiffe_id = id->ToString();
    alias.parent_id = absl::StrCat(deps_.trust_domain.IdString(), "/spire/agent/join_token/", token);
    alias.selectors.push_back({"spiffe_id", alias.parent_id});
    if (auto st = ValidateEntry(deps_.trust_domain, alias); !st.ok()) return ToGrpc(Annotate(st, "invalid agent ID"));
  }
  const int64_t exp = absl::ToUnixSeconds(deps_.clock.Now()) + req->ttl();
  if (auto st = deps_.ds.CreateJoinToken({token, exp}); !st.ok()) {
    return ToGrpc(Annotate(st, "failed to create token"));
  }
  if (req->has_agent_id()) {
    auto created = deps_.ds.CreateEntry(alias);
    if (!created.ok()) return ToGrpc(Annotate(created.status(), "failed to create join token registration entry"));
    (void)deps_.entries.Refresh();
  }
  resp->set_value(token);
  resp->set_expires_at(exp);
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
