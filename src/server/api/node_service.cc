#include "server/api/node_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "crypto/csr.h"
#include "server/api/agent_auth.h"
#include "server/api/convert.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

class StreamChallengeChannel final : public ChallengeChannel {
 public:
  explicit StreamChallengeChannel(AttestStream& s) : s_(s) {}
  absl::StatusOr<std::string> Challenge(std::string_view challenge) override {
    agent::v1::AttestAgentResponse resp;
    resp.set_challenge(std::string(challenge));
    if (!s_.Write(resp)) return absl::AbortedError("attestation stream closed while sending a challenge");
    agent::v1::AttestAgentRequest req;
    if (!s_.Read(&req))
      return absl::InvalidArgumentError("attestation stream closed before the challenge was answered");
    if (req.step_case() != agent::v1::AttestAgentRequest::kChallengeResponse) {
      return absl::InvalidArgumentError("expected a challenge response on the attestation stream");
    }
    if (req.challenge_response().size() > kMaxChallengeResponse) {
      return absl::InvalidArgumentError(absl::StrCat("challenge response is ", req.challenge_response().size(),
                                                     " bytes, more than the limit of ", kMaxChallengeResponse));
    }
    return std::string(req.challenge_response());
  }

 private:
  AttestStream& s_;
};

class GrpcAttestStream final : public AttestStream {
 public:
  explicit GrpcAttestStream(grpc::ServerReaderWriter<agent::v1::AttestAgentResponse, agent::v1::AttestAgentRequest>* s)
      : s_(s) {}
  bool Read(agent::v1::AttestAgentRequest* req) override { return s_->Read(req); }
  bool Write(const agent::v1::AttestAgentResponse& resp) override { return s_->Write(resp); }

 private:
  grpc::ServerReaderWriter<agent::v1::AttestAgentResponse, agent::v1::AttestAgentRequest>* s_;
};

absl::StatusOr<std::vector<std::shared_ptr<const datastore::RegistrationEntry>>> Authorized(
    ServerContext& sc, const AuthenticatedAgent& a) {
  return sc.entries->AuthorizedEntries(a.spiffe_id, a.node.selectors);
}

grpc::Status AuthFailed(ServerContext& sc, const absl::Status& st) {
  if (sc.metrics != nullptr) sc.metrics->agent_auth_failures++;
  return ToGrpc(st);
}

}  // namespace

absl::Status RunAttestation(ServerContext& sc, AttestStream& stream) {
  agent::v1::AttestAgentRequest first;
  if (!stream.Read(&first))
    return absl::InvalidArgumentError("attestation stream closed before the attestation parameters");
  if (first.step_case() != agent::v1::AttestAgentRequest::kParams) {
    return absl::InvalidArgumentError("the first attestation message must carry the parameters");
  }
  const auto& params = first.params();
  const std::string& type = params.data().type();
  if (type.empty()) return absl::InvalidArgumentError("attestation data type is missing");
  if (params.data().payload().size() > kMaxAttestationPayload) {
    return absl::InvalidArgumentError(absl::StrCat("attestation payload is ", params.data().payload().size(),
                                                   " bytes, more than the limit of ", kMaxAttestationPayload));
  }
  if (params.csr().empty()) return absl::InvalidArgumentError("the agent CSR is missing");
  if (params.csr().size() > kMaxCsr) return absl::InvalidArgumentError("the agent CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(params.csr());
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("agent CSR rejected: ", csr.status().message()));
  auto it = sc.attestors.find(type);
  if (it == sc.attestors.end()) {
    return absl::InvalidArgumentError(absl::StrCat("no NodeAttestor \"", type, "\" is configured on this server"));
  }
  StreamChallengeChannel channel(stream);
  AttestationRequest areq{std::string(params.data().payload()), csr->spki_der};
  auto result = it->second->Attest(areq, channel);
  if (!result.ok()) {
    spdlog::warn("node attestation ({}) failed: {}", type, result.status().ToString());
    return result.status();
  }
  const std::string agent_id = result->agent_id.ToString();
  auto existing = sc.ds->FetchAttestedNode(agent_id);
  if (existing.ok()) {
    if (existing->banned) return absl::PermissionDeniedError(absl::StrCat("agent ", agent_id, " is banned"));
    if (!result->can_reattest) {
      return absl::PermissionDeniedError(absl::StrCat(
          "agent ", agent_id, " has already attested; evict it (spire-server agent evict) to attest again"));
    }
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  auto svid = sc.ca->SignX509Svid(csr->public_key.get(), result->agent_id, sc.AgentTtl(), {});
  if (!svid.ok()) return svid.status();
  datastore::AttestedNode node;
  node.spiffe_id = agent_id;
  node.attestation_type = type;
  node.cert_serial = svid->serial;
  node.cert_not_after = absl::ToUnixSeconds(svid->not_after);
  node.can_reattest = result->can_reattest;
  node.selectors = result->selectors;
  if (auto st = sc.ds->UpsertAttestedNode(node); !st.ok()) return st;
  spdlog::info("agent attested: {} ({}; {} selectors)", agent_id, type, node.selectors.size());
  agent::v1::AttestAgentResponse resp;
  auto* r = resp.mutable_result();
  r->mutable_svid()->set_spiffe_id(agent_id);
  for (auto& c : svid->chain_der) r->mutable_svid()->add_cert_chain(c);
  r->mutable_svid()->set_expires_at(absl::ToUnixSeconds(svid->not_after));
  r->set_reattestable(result->can_reattest);
  if (!stream.Write(resp)) return absl::AbortedError("attestation stream closed before the result was sent");
  return absl::OkStatus();
}

grpc::Status NodeService::AttestAgent(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<agent::v1::AttestAgentResponse, agent::v1::AttestAgentRequest>* stream) {
  GrpcAttestStream s(stream);
  auto st = RunAttestation(sc_, s);
  if (sc_.metrics != nullptr) (st.ok() ? sc_.metrics->attestations_ok : sc_.metrics->attestations_failed)++;
  return ToGrpc(st);
}

grpc::Status NodeService::RenewAgent(grpc::ServerContext* ctx, const agent::v1::RenewAgentRequest* req,
                                     agent::v1::RenewAgentResponse* resp) {
  auto a = AuthenticateAgent(sc_, *ctx);
  if (!a.ok()) return AuthFailed(sc_, a.status());
  if (req->csr().size() > kMaxCsr) return ToGrpc(absl::InvalidArgumentError("CSR is too large"));
  auto csr = crypto::ParseAndVerifyCsr(req->csr());
  if (!csr.ok())
    return ToGrpc(absl::InvalidArgumentError(absl::StrCat("agent CSR rejected: ", csr.status().message())));
  auto id = spiffe::SpiffeId::Parse(a->spiffe_id);
  if (!id.ok()) return ToGrpc(id.status());
  auto svid = sc_.ca->SignX509Svid(csr->public_key.get(), *id, sc_.AgentTtl(), {});
  if (!svid.ok()) return ToGrpc(svid.status());
  auto st = sc_.ds->UpdateAttestedNodeSerials(a->spiffe_id, a->node.cert_serial, a->node.cert_not_after, svid->serial,
                                              absl::ToUnixSeconds(svid->not_after));
  if (!st.ok()) return ToGrpc(st);
  resp->mutable_svid()->set_spiffe_id(a->spiffe_id);
  for (auto& c : svid->chain_der) resp->mutable_svid()->add_cert_chain(c);
  resp->mutable_svid()->set_expires_at(absl::ToUnixSeconds(svid->not_after));
  return grpc::Status::OK;
}

grpc::Status NodeService::BatchNewX509SVID(grpc::ServerContext* ctx, const agent::v1::BatchNewX509SVIDRequest* req,
                                           agent::v1::BatchNewX509SVIDResponse* resp) {
  auto a = AuthenticateAgent(sc_, *ctx);
  if (!a.ok()) return AuthFailed(sc_, a.status());
  if (req->params_size() > kMaxBatchCsrs) {
    return ToGrpc(absl::InvalidArgumentError(absl::StrCat("at most ", kMaxBatchCsrs, " CSRs per batch")));
  }
  auto entries = Authorized(sc_, *a);
  if (!entries.ok()) return ToGrpc(entries.status());
  std::map<std::string, std::shared_ptr<const datastore::RegistrationEntry>> by_id;
  for (auto& e : *entries) by_id[e->id] = e;
  for (auto& p : req->params()) {
    auto* r = resp->add_results();
    auto fail = [&](const absl::Status& s) {
      r->set_status_code(static_cast<int>(s.code()));
      r->set_status_message(std::string(s.message()));
    };
    auto it = by_id.find(p.entry_id());
    if (it == by_id.end()) {
      fail(absl::PermissionDeniedError(absl::StrCat("entry ", p.entry_id(), " is not authorized for this agent")));
      continue;
    }
    if (p.csr().size() > kMaxCsr) {
      fail(absl::InvalidArgumentError("CSR is too large"));
      continue;
    }
    auto csr = crypto::ParseAndVerifyCsr(p.csr());
    if (!csr.ok()) {
      fail(absl::InvalidArgumentError(absl::StrCat("CSR rejected: ", csr.status().message())));
      continue;
    }
    auto id = spiffe::SpiffeId::Parse(it->second->spiffe_id);
    if (!id.ok()) {
      fail(id.status());
      continue;
    }
    absl::Duration ttl =
        it->second->x509_svid_ttl > 0 ? absl::Seconds(it->second->x509_svid_ttl) : sc_.cfg->default_x509_svid_ttl;
    auto svid = sc_.ca->SignX509Svid(csr->public_key.get(), *id, ttl, it->second->dns_names);
    if (!svid.ok()) {
      fail(svid.status());
      continue;
    }
    r->set_status_code(0);
    if (sc_.metrics != nullptr) sc_.metrics->x509_svids_minted++;
    r->mutable_svid()->set_spiffe_id(id->ToString());
    for (auto& c : svid->chain_der) r->mutable_svid()->add_cert_chain(c);
    r->mutable_svid()->set_expires_at(absl::ToUnixSeconds(svid->not_after));
  }
  return grpc::Status::OK;
}

grpc::Status NodeService::NewJWTSVID(grpc::ServerContext* ctx, const agent::v1::NewJWTSVIDRequest* req,
                                     agent::v1::NewJWTSVIDResponse* resp) {
  auto a = AuthenticateAgent(sc_, *ctx);
  if (!a.ok()) return AuthFailed(sc_, a.status());
  if (req->audience().empty()) return ToGrpc(absl::InvalidArgumentError("at least one audience is required"));
  auto entries = Authorized(sc_, *a);
  if (!entries.ok()) return ToGrpc(entries.status());
  std::shared_ptr<const datastore::RegistrationEntry> entry;
  for (auto& e : *entries)
    if (e->id == req->entry_id()) entry = e;
  if (entry == nullptr) {
    return ToGrpc(
        absl::PermissionDeniedError(absl::StrCat("entry ", req->entry_id(), " is not authorized for this agent")));
  }
  auto id = spiffe::SpiffeId::Parse(entry->spiffe_id);
  if (!id.ok()) return ToGrpc(id.status());
  absl::Duration ttl = entry->jwt_svid_ttl > 0 ? absl::Seconds(entry->jwt_svid_ttl) : sc_.cfg->default_jwt_svid_ttl;
  std::vector<std::string> aud(req->audience().begin(), req->audience().end());
  auto jwt = sc_.ca->SignJwtSvid(*id, aud, ttl);
  if (!jwt.ok()) return ToGrpc(jwt.status());
  if (sc_.metrics != nullptr) sc_.metrics->jwt_svids_minted++;
  auto* s = resp->mutable_svid();
  s->set_token(jwt->token);
  s->set_spiffe_id(id->ToString());
  s->set_issued_at(absl::ToUnixSeconds(jwt->issued_at));
  s->set_expires_at(absl::ToUnixSeconds(jwt->expires_at));
  return grpc::Status::OK;
}

grpc::Status NodeService::SyncAuthorizedEntries(grpc::ServerContext* ctx,
                                                const agent::v1::SyncAuthorizedEntriesRequest* req,
                                                agent::v1::SyncAuthorizedEntriesResponse* resp) {
  auto a = AuthenticateAgent(sc_, *ctx);
  if (!a.ok()) return AuthFailed(sc_, a.status());
  auto entries = Authorized(sc_, *a);
  if (!entries.ok()) return ToGrpc(entries.status());
  std::map<std::string, int64_t> known;
  for (auto& k : req->known()) known[k.id()] = k.revision_number();
  std::set<std::string> current;
  for (auto& e : *entries) {
    current.insert(e->id);
    auto it = known.find(e->id);
    if (it != known.end() && it->second == e->revision_number) continue;
    ToProto(*e, resp->add_changed());
  }
  for (auto& [id, rev] : known) {
    if (!current.count(id)) resp->add_removed_entry_ids(id);
  }
  auto bundle = sc_.bundle->Get();
  if (bundle.ok()) resp->set_bundle_sequence_number((*bundle)->record.sequence_number);
  return grpc::Status::OK;
}

grpc::Status NodeService::GetBundle(grpc::ServerContext* ctx, const agent::v1::GetBundleRequest*, types::Bundle* resp) {
  auto a = AuthenticateAgent(sc_, *ctx);
  if (!a.ok()) return AuthFailed(sc_, a.status());
  auto bundle = sc_.bundle->Get();
  if (!bundle.ok()) return ToGrpc(bundle.status());
  ToProto((*bundle)->record, resp);
  return grpc::Status::OK;
}

}  // namespace spirecvm::server
