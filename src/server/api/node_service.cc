#include "server/api/node_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
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

grpc::Status AuthFailed(Metrics& metrics, const absl::Status& st) {
  metrics.agent_auth_failures++;
  return ToGrpc(st);
}

// The first message: the attestation data and the agent's CSR, checked before any attestor sees them.
absl::StatusOr<AttestationParams> ReadParams(AttestStream& stream) {
  agent::v1::AttestAgentRequest first;
  if (!stream.Read(&first)) {
    return absl::InvalidArgumentError("attestation stream closed before the attestation parameters");
  }
  if (first.step_case() != agent::v1::AttestAgentRequest::kParams) {
    return absl::InvalidArgumentError("the first attestation message must carry the parameters");
  }
  const auto& params = first.params();
  return CheckAttestationParams(params.data().type(), params.data().payload(), params.csr());
}

// Refuses a banned agent, and one that attested before unless the attestor allows re-attestation.
absl::Status CheckMayAttest(datastore::DataStore& ds, const std::string& agent_id, bool can_reattest) {
  auto existing = ds.FetchAttestedNode(agent_id);
  if (absl::IsNotFound(existing.status())) return absl::OkStatus();
  if (!existing.ok()) return existing.status();
  if (existing->banned) return absl::PermissionDeniedError(absl::StrCat("agent ", agent_id, " is banned"));
  if (!can_reattest) {
    return absl::PermissionDeniedError(
        absl::StrCat("agent ", agent_id, " has already attested; evict it (spire-server agent evict) to attest again"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AttestationParams> CheckAttestationParams(std::string type, std::string payload,
                                                         std::string_view csr_der) {
  if (type.empty()) return absl::InvalidArgumentError("attestation data type is missing");
  if (payload.size() > kMaxAttestationPayload) {
    return absl::InvalidArgumentError(absl::StrCat("attestation payload is ", payload.size(),
                                                   " bytes, more than the limit of ", kMaxAttestationPayload));
  }
  if (csr_der.empty()) return absl::InvalidArgumentError("the agent CSR is missing");
  if (csr_der.size() > kMaxCsr) return absl::InvalidArgumentError("the agent CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(csr_der);
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("agent CSR rejected: ", csr.status().message()));
  return AttestationParams{std::move(type), std::move(payload), *std::move(csr)};
}

absl::StatusOr<AttestedAgent> AttestAndStoreNode(const AttestationDeps& deps, const AttestationParams& params,
                                                 ChallengeChannel& channel) {
  auto it = deps.attestors.find(params.type);
  if (it == deps.attestors.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no NodeAttestor \"", params.type, "\" is configured on this server"));
  }
  auto result = it->second->Attest({params.payload, params.csr.spki_der}, channel);
  if (!result.ok()) {
    spdlog::warn("node attestation ({}) failed: {}", params.type, result.status().ToString());
    return result.status();
  }
  const std::string agent_id = result->agent_id.ToString();
  RETURN_IF_ERROR(CheckMayAttest(deps.ds, agent_id, result->can_reattest));
  ASSIGN_OR_RETURN(SignedX509Svid svid,
                   deps.ca.SignX509Svid(params.csr.public_key.get(), result->agent_id, deps.agent_ttl, {}));
  datastore::AttestedNode node;
  node.spiffe_id = agent_id;
  node.attestation_type = params.type;
  node.cert_serial = svid.serial;
  node.cert_not_after = absl::ToUnixSeconds(svid.not_after);
  node.can_reattest = result->can_reattest;
  node.selectors = result->selectors;
  RETURN_IF_ERROR(deps.ds.UpsertAttestedNode(node));
  spdlog::info("agent attested: {} ({}; {} selectors)", agent_id, params.type, node.selectors.size());
  return AttestedAgent{result->agent_id, std::move(svid), result->can_reattest};
}

absl::StatusOr<SignedX509Svid> RenewAgentSvid(const NodeServiceDeps& deps, const AuthenticatedAgent& a,
                                              std::string_view csr_der) {
  if (csr_der.size() > kMaxCsr) return absl::InvalidArgumentError("CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(csr_der);
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("agent CSR rejected: ", csr.status().message()));
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::Parse(a.spiffe_id));
  ASSIGN_OR_RETURN(SignedX509Svid svid, deps.ca.SignX509Svid(csr->public_key.get(), id, deps.ttls.agent, {}));
  RETURN_IF_ERROR(deps.ds.UpdateAttestedNodeSerials(a.spiffe_id, a.node.cert_serial, a.node.cert_not_after, svid.serial,
                                                    absl::ToUnixSeconds(svid.not_after)));
  return svid;
}

absl::StatusOr<SignedX509Svid> SignEntryX509Svid(const NodeServiceDeps& deps, const datastore::RegistrationEntry& e,
                                                 std::string_view csr_der) {
  if (csr_der.size() > kMaxCsr) return absl::InvalidArgumentError("CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(csr_der);
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("CSR rejected: ", csr.status().message()));
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::Parse(e.spiffe_id));
  absl::Duration ttl = e.x509_svid_ttl > 0 ? absl::Seconds(e.x509_svid_ttl) : deps.ttls.x509;
  ASSIGN_OR_RETURN(SignedX509Svid svid, deps.ca.SignX509Svid(csr->public_key.get(), id, ttl, e.dns_names));
  deps.metrics.x509_svids_minted++;
  return svid;
}

absl::StatusOr<SignedJwtSvid> SignEntryJwtSvid(const NodeServiceDeps& deps, const datastore::RegistrationEntry& e,
                                               const std::vector<std::string>& audience) {
  if (audience.empty()) return absl::InvalidArgumentError("at least one audience is required");
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::Parse(e.spiffe_id));
  absl::Duration ttl = e.jwt_svid_ttl > 0 ? absl::Seconds(e.jwt_svid_ttl) : deps.ttls.jwt;
  ASSIGN_OR_RETURN(SignedJwtSvid jwt, deps.ca.SignJwtSvid(id, audience, ttl));
  deps.metrics.jwt_svids_minted++;
  return jwt;
}

absl::Status RunAttestation(const AttestationDeps& deps, AttestStream& stream) {
  ASSIGN_OR_RETURN(AttestationParams params, ReadParams(stream));
  StreamChallengeChannel channel(stream);
  ASSIGN_OR_RETURN(AttestedAgent attested, AttestAndStoreNode(deps, params, channel));
  agent::v1::AttestAgentResponse resp;
  SetSvid(attested.id.ToString(), attested.svid, resp.mutable_result()->mutable_svid());
  resp.mutable_result()->set_reattestable(attested.can_reattest);
  if (!stream.Write(resp)) return absl::AbortedError("attestation stream closed before the result was sent");
  return absl::OkStatus();
}

absl::StatusOr<AuthenticatedAgent> NodeService::Authenticate(const grpc::ServerContext& ctx) {
  return AuthenticateAgent(deps_.Auth(), ctx);
}

grpc::Status NodeService::AttestAgent(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<agent::v1::AttestAgentResponse, agent::v1::AttestAgentRequest>* stream) {
  GrpcAttestStream s(stream);
  absl::Status st = RunAttestation(deps_.Attestation(), s);
  (st.ok() ? deps_.metrics.attestations_ok : deps_.metrics.attestations_failed)++;
  return ToGrpc(st);
}

grpc::Status NodeService::RenewAgent(grpc::ServerContext* ctx, const agent::v1::RenewAgentRequest* req,
                                     agent::v1::RenewAgentResponse* resp) {
  auto a = Authenticate(*ctx);
  if (!a.ok()) return AuthFailed(deps_.metrics, a.status());
  auto svid = RenewAgentSvid(deps_, *a, req->csr());
  if (!svid.ok()) return ToGrpc(svid.status());
  SetSvid(a->spiffe_id, *svid, resp->mutable_svid());
  return grpc::Status::OK;
}

grpc::Status NodeService::BatchNewX509SVID(grpc::ServerContext* ctx, const agent::v1::BatchNewX509SVIDRequest* req,
                                           agent::v1::BatchNewX509SVIDResponse* resp) {
  auto a = Authenticate(*ctx);
  if (!a.ok()) return AuthFailed(deps_.metrics, a.status());
  if (req->params_size() > kMaxBatchCsrs) {
    return ToGrpc(absl::InvalidArgumentError(absl::StrCat("at most ", kMaxBatchCsrs, " CSRs per batch")));
  }
  auto entries = deps_.entries.AuthorizedEntries(a->spiffe_id, a->node.selectors);
  std::map<std::string, std::shared_ptr<const datastore::RegistrationEntry>> by_id;
  for (auto& e : entries) by_id[e->id] = e;
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
    auto svid = SignEntryX509Svid(deps_, *it->second, p.csr());
    if (!svid.ok()) {
      fail(svid.status());
      continue;
    }
    r->set_status_code(0);
    SetSvid(it->second->spiffe_id, *svid, r->mutable_svid());
  }
  return grpc::Status::OK;
}

grpc::Status NodeService::NewJWTSVID(grpc::ServerContext* ctx, const agent::v1::NewJWTSVIDRequest* req,
                                     agent::v1::NewJWTSVIDResponse* resp) {
  auto a = Authenticate(*ctx);
  if (!a.ok()) return AuthFailed(deps_.metrics, a.status());
  if (req->audience().empty()) return ToGrpc(absl::InvalidArgumentError("at least one audience is required"));
  auto entries = deps_.entries.AuthorizedEntries(a->spiffe_id, a->node.selectors);
  std::shared_ptr<const datastore::RegistrationEntry> entry;
  for (auto& e : entries)
    if (e->id == req->entry_id()) entry = e;
  if (entry == nullptr) {
    return ToGrpc(
        absl::PermissionDeniedError(absl::StrCat("entry ", req->entry_id(), " is not authorized for this agent")));
  }
  std::vector<std::string> aud(req->audience().begin(), req->audience().end());
  auto jwt = SignEntryJwtSvid(deps_, *entry, aud);
  if (!jwt.ok()) return ToGrpc(jwt.status());
  auto* s = resp->mutable_svid();
  s->set_token(jwt->token);
  s->set_spiffe_id(entry->spiffe_id);
  s->set_issued_at(absl::ToUnixSeconds(jwt->issued_at));
  s->set_expires_at(absl::ToUnixSeconds(jwt->expires_at));
  return grpc::Status::OK;
}

grpc::Status NodeService::SyncAuthorizedEntries(grpc::ServerContext* ctx,
                                                const agent::v1::SyncAuthorizedEntriesRequest* req,
                                                agent::v1::SyncAuthorizedEntriesResponse* resp) {
  auto a = Authenticate(*ctx);
  if (!a.ok()) return AuthFailed(deps_.metrics, a.status());
  auto entries = deps_.entries.AuthorizedEntries(a->spiffe_id, a->node.selectors);
  std::map<std::string, int64_t> known;
  for (auto& k : req->known()) known[k.id()] = k.revision_number();
  std::set<std::string> current;
  for (auto& e : entries) {
    current.insert(e->id);
    auto it = known.find(e->id);
    if (it != known.end() && it->second == e->revision_number) continue;
    ToProto(*e, resp->add_changed());
  }
  for (auto& [id, rev] : known) {
    if (!current.count(id)) resp->add_removed_entry_ids(id);
  }
  auto bundle = deps_.bundle.Get();
  if (bundle.ok()) resp->set_bundle_sequence_number((*bundle)->record.sequence_number);
  return grpc::Status::OK;
}

grpc::Status NodeService::GetBundle(grpc::ServerContext* ctx, const agent::v1::GetBundleRequest*, types::Bundle* resp) {
  auto a = Authenticate(*ctx);
  if (!a.ok()) return AuthFailed(deps_.metrics, a.status());
  auto bundle = deps_.bundle.Get();
  if (!bundle.ok()) return ToGrpc(bundle.status());
  ToProto((*bundle)->record, resp);
  return grpc::Status::OK;
}

}  // namespace spirecvm::server
