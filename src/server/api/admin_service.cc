#include "server/api/admin_service.h"

#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "common/uuid.h"
#include "crypto/csr.h"
#include "server/api/convert.h"
#include "server/api/limits.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

bool ValidDnsName(const std::string& d) {
  static const std::regex re(
      R"(^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$)");
  return d.size() <= 253 && std::regex_match(d, re);
}

absl::Status ValidateIds(const spiffe::TrustDomain& td, const datastore::RegistrationEntry& e) {
  auto id = spiffe::SpiffeId::Parse(e.spiffe_id);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid spiffeID \"", e.spiffe_id, "\": ", id.status().message()));
  }
  if (!id->MemberOf(td)) {
    return absl::InvalidArgumentError(absl::StrCat("spiffeID ", e.spiffe_id, " is not in trust domain ", td.name()));
  }
  if (id->path().empty()) {
    return absl::InvalidArgumentError("spiffeID must have a path (the trust domain ID is reserved)");
  }
  if (id->path().rfind("/spire/", 0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("spiffeID ", e.spiffe_id, " is in the reserved /spire namespace"));
  }
  auto parent = spiffe::SpiffeId::Parse(e.parent_id);
  if (!parent.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parentID \"", e.parent_id, "\": ", parent.status().message()));
  }
  if (!parent->MemberOf(td)) {
    return absl::InvalidArgumentError(absl::StrCat("parentID ", e.parent_id, " is not in trust domain ", td.name()));
  }
  return absl::OkStatus();
}

absl::Status ValidateSelectors(const std::vector<datastore::Selector>& selectors) {
  if (selectors.empty()) return absl::InvalidArgumentError("an entry needs at least one selector");
  for (auto& s : selectors) {
    if (s.type.empty() || s.value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector \"", s.type, ":", s.value, "\" must be type:value with both parts non-empty"));
    }
    if (s.type.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("selector type \"", s.type, "\" contains ':'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEntry(const spiffe::TrustDomain& td, const datastore::RegistrationEntry& e) {
  RETURN_IF_ERROR(ValidateIds(td, e));
  RETURN_IF_ERROR(ValidateSelectors(e.selectors));
  if (e.x509_svid_ttl < 0) return absl::InvalidArgumentError("x509SVIDTTL must not be negative");
  if (e.jwt_svid_ttl < 0) return absl::InvalidArgumentError("jwtSVIDTTL must not be negative");
  for (auto& d : e.dns_names) {
    if (!ValidDnsName(d)) {
      return absl::InvalidArgumentError(absl::StrCat("dns name \"", d, "\" is not a valid DNS name"));
    }
  }
  if (e.hint.size() > 1024) return absl::InvalidArgumentError("hint is longer than 1024 bytes");
  return absl::OkStatus();
}

grpc::Status AdminService::CreateJoinToken(grpc::ServerContext*, const admin::v1::CreateJoinTokenRequest* req,
                                           admin::v1::CreateJoinTokenResponse* resp) {
  if (req->ttl() < 0) return ToGrpc(absl::InvalidArgumentError("ttl must not be negative"));
  int ttl = req->ttl() == 0 ? 600 : req->ttl();
  std::string token = NewUuidV4(deps_.rnd);
  int64_t exp = absl::ToUnixSeconds(deps_.clock.Now()) + ttl;
  datastore::RegistrationEntry alias;
  if (!req->agent_id().empty()) {
    // As SPIRE does: the extra SPIFFE ID is an entry parented by the token's agent ID.
    alias.spiffe_id = req->agent_id();
    alias.parent_id = absl::StrCat(deps_.trust_domain.IdString(), "/spire/agent/join_token/", token);
    alias.selectors.push_back({"spiffe_id", alias.parent_id});
    if (auto st = ValidateEntry(deps_.trust_domain, alias); !st.ok()) return ToGrpc(st);
  }
  if (auto st = deps_.ds.CreateJoinToken({token, exp}); !st.ok()) return ToGrpc(st);
  if (!req->agent_id().empty()) {
    auto created = deps_.ds.CreateEntry(alias);
    if (!created.ok()) return ToGrpc(created.status());
    (void)deps_.entries.Refresh();
  }
  resp->set_token(token);
  resp->set_expires_at(exp);
  return grpc::Status::OK;
}

grpc::Status AdminService::CreateEntry(grpc::ServerContext*, const admin::v1::CreateEntryRequest* req,
                                       admin::v1::EntryResult* resp) {
  auto e = FromProto(req->entry());
  if (auto st = ValidateEntry(deps_.trust_domain, e); !st.ok()) return ToGrpc(st);
  auto created = deps_.ds.CreateEntry(e);
  if (!created.ok()) return ToGrpc(created.status());
  (void)deps_.entries.Refresh();
  ToProto(*created, resp->mutable_entry());
  return grpc::Status::OK;
}

grpc::Status AdminService::UpdateEntry(grpc::ServerContext*, const admin::v1::UpdateEntryRequest* req,
                                       admin::v1::EntryResult* resp) {
  auto e = FromProto(req->entry());
  if (e.id.empty()) return ToGrpc(absl::InvalidArgumentError("entryID is required"));
  if (auto st = ValidateEntry(deps_.trust_domain, e); !st.ok()) return ToGrpc(st);
  auto updated = deps_.ds.UpdateEntry(e);
  if (!updated.ok()) return ToGrpc(updated.status());
  (void)deps_.entries.Refresh();
  ToProto(*updated, resp->mutable_entry());
  return grpc::Status::OK;
}

grpc::Status AdminService::DeleteEntry(grpc::ServerContext*, const admin::v1::DeleteEntryRequest* req,
                                       admin::v1::DeleteEntryResponse*) {
  if (req->id().empty()) return ToGrpc(absl::InvalidArgumentError("entryID is required"));
  auto st = deps_.ds.DeleteEntry(req->id());
  if (!st.ok()) return ToGrpc(st);
  (void)deps_.entries.Refresh();
  return grpc::Status::OK;
}

grpc::Status AdminService::GetEntry(grpc::ServerContext*, const admin::v1::GetEntryRequest* req, types::Entry* resp) {
  auto e = deps_.ds.FetchEntry(req->id());
  if (!e.ok()) return ToGrpc(e.status());
  ToProto(*e, resp);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListEntries(grpc::ServerContext*, const admin::v1::ListEntriesRequest* req,
                                       admin::v1::ListEntriesResponse* resp) {
  datastore::ListEntriesFilter f;
  if (!req->by_spiffe_id().empty()) f.by_spiffe_id = req->by_spiffe_id();
  if (!req->by_parent_id().empty()) f.by_parent_id = req->by_parent_id();
  if (req->by_selectors_size() > 0) {
    std::vector<datastore::Selector> sel;
    for (auto& s : req->by_selectors()) sel.push_back({s.type(), s.value()});
    if (req->selectors_superset())
      f.by_selectors_superset = sel;
    else
      f.by_selectors_exact = sel;
  }
  auto list = deps_.ds.ListEntries(f);
  if (!list.ok()) return ToGrpc(list.status());
  for (auto& e : *list) ToProto(e, resp->add_entries());
  return grpc::Status::OK;
}

grpc::Status AdminService::CountEntries(grpc::ServerContext*, const admin::v1::CountEntriesRequest*,
                                        admin::v1::CountResponse* resp) {
  auto n = deps_.ds.CountEntries();
  if (!n.ok()) return ToGrpc(n.status());
  resp->set_count(*n);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListAgents(grpc::ServerContext*, const admin::v1::ListAgentsRequest*,
                                      admin::v1::ListAgentsResponse* resp) {
  auto list = deps_.ds.ListAttestedNodes();
  if (!list.ok()) return ToGrpc(list.status());
  for (auto& n : *list) ToProto(n, resp->add_agents());
  return grpc::Status::OK;
}

grpc::Status AdminService::GetAgent(grpc::ServerContext*, const admin::v1::GetAgentRequest* req,
                                    types::AttestedNode* resp) {
  auto n = deps_.ds.FetchAttestedNode(req->spiffe_id());
  if (!n.ok()) {
    if (absl::IsNotFound(n.status()))
      return ToGrpc(absl::NotFoundError(absl::StrCat("agent ", req->spiffe_id(), " not found")));
    return ToGrpc(n.status());
  }
  ToProto(*n, resp);
  return grpc::Status::OK;
}

grpc::Status AdminService::CountAgents(grpc::ServerContext*, const admin::v1::CountAgentsRequest*,
                                       admin::v1::CountResponse* resp) {
  auto n = deps_.ds.CountAttestedNodes();
  if (!n.ok()) return ToGrpc(n.status());
  resp->set_count(*n);
  return grpc::Status::OK;
}

grpc::Status AdminService::EvictAgent(grpc::ServerContext*, const admin::v1::AgentIdRequest* req, admin::v1::Empty*) {
  auto st = deps_.ds.DeleteAttestedNode(req->spiffe_id());
  if (absl::IsNotFound(st)) return ToGrpc(absl::NotFoundError(absl::StrCat("agent ", req->spiffe_id(), " not found")));
  if (st.ok()) spdlog::info("agent evicted: {}", req->spiffe_id());
  return ToGrpc(st);
}

grpc::Status AdminService::BanAgent(grpc::ServerContext*, const admin::v1::AgentIdRequest* req, admin::v1::Empty*) {
  auto st = deps_.ds.BanAttestedNode(req->spiffe_id());
  if (absl::IsNotFound(st)) return ToGrpc(absl::NotFoundError(absl::StrCat("agent ", req->spiffe_id(), " not found")));
  if (st.ok()) spdlog::info("agent banned: {}", req->spiffe_id());
  return ToGrpc(st);
}

grpc::Status AdminService::GetBundle(grpc::ServerContext*, const admin::v1::GetBundleRequest*, types::Bundle* resp) {
  auto b = deps_.ds.FetchBundle(deps_.trust_domain.name());
  if (!b.ok()) return ToGrpc(b.status());
  ToProto(*b, resp);
  return grpc::Status::OK;
}

grpc::Status AdminService::MintX509SVID(grpc::ServerContext*, const admin::v1::MintX509SVIDRequest* req,
                                        admin::v1::MintX509SVIDResponse* resp) {
  if (req->ttl() < 0) return ToGrpc(absl::InvalidArgumentError("ttl must not be negative"));
  if (req->csr().size() > kMaxCsr) return ToGrpc(absl::InvalidArgumentError("CSR is too large"));
  auto csr = crypto::ParseAndVerifyCsr(req->csr());
  if (!csr.ok()) return ToGrpc(absl::InvalidArgumentError(absl::StrCat("CSR rejected: ", csr.status().message())));
  if (csr->uri_sans.size() != 1)
    return ToGrpc(absl::InvalidArgumentError("the CSR must carry exactly one URI SAN (the SPIFFE ID)"));
  auto id = spiffe::SpiffeId::Parse(csr->uri_sans[0]);
  if (!id.ok())
    return ToGrpc(absl::InvalidArgumentError(absl::StrCat("invalid SPIFFE ID in CSR: ", id.status().message())));
  absl::Duration ttl = req->ttl() > 0 ? absl::Seconds(req->ttl()) : deps_.ttls.x509;
  auto svid = deps_.ca.SignX509Svid(csr->public_key.get(), *id, ttl, {});
  if (!svid.ok()) return ToGrpc(svid.status());
  deps_.metrics.x509_svids_minted++;
  SetSvid(id->ToString(), *svid, resp->mutable_svid());
  return grpc::Status::OK;
}

grpc::Status AdminService::MintJWTSVID(grpc::ServerContext*, const admin::v1::MintJWTSVIDRequest* req,
                                       admin::v1::MintJWTSVIDResponse* resp) {
  auto id = spiffe::SpiffeId::Parse(req->spiffe_id());
  if (!id.ok()) return ToGrpc(absl::InvalidArgumentError(absl::StrCat("invalid spiffeID: ", id.status().message())));
  if (req->audience().empty()) return ToGrpc(absl::InvalidArgumentError("at least one audience is required"));
  if (req->ttl() < 0) return ToGrpc(absl::InvalidArgumentError("ttl must not be negative"));
  absl::Duration ttl = req->ttl() > 0 ? absl::Seconds(req->ttl()) : deps_.ttls.jwt;
  std::vector<std::string> aud(req->audience().begin(), req->audience().end());
  auto jwt = deps_.ca.SignJwtSvid(*id, aud, ttl);
  if (!jwt.ok()) return ToGrpc(jwt.status());
  deps_.metrics.jwt_svids_minted++;
  resp->mutable_svid()->set_token(jwt->token);
  resp->mutable_svid()->set_spiffe_id(id->ToString());
  resp->mutable_svid()->set_issued_at(absl::ToUnixSeconds(jwt->issued_at));
  resp->mutable_svid()->set_expires_at(absl::ToUnixSeconds(jwt->expires_at));
  return grpc::Status::OK;
}

grpc::Status AdminService::Health(grpc::ServerContext*, const admin::v1::Empty*, admin::v1::HealthResponse* resp) {
  // Healthy means the datastore answers and a CA is active.
  auto b = deps_.ds.FetchBundle(deps_.trust_domain.name());
  if (!b.ok()) return ToGrpc(absl::UnavailableError(absl::StrCat("datastore: ", b.status().message())));
  if (deps_.ca.Summary().empty()) return ToGrpc(absl::UnavailableError("no CA"));
  resp->set_status("SERVING");
  return grpc::Status::OK;
}

}  // namespace spirecvm::server
