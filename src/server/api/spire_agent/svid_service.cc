#include "server/api/spire_agent/svid_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "crypto/csr.h"
#include "server/api/limits.h"
#include "server/api/spire/convert.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireagent {
namespace {

svidv1::BatchNewX509SVIDResponse::Result Failed(const absl::Status& s) {
  svidv1::BatchNewX509SVIDResponse::Result r;
  spireapi::StatusToProto(s, r.mutable_status());
  return r;
}

}  // namespace

svidv1::BatchNewX509SVIDResponse::Result NewX509SvidResult(const AgentApiDeps& deps,
                                                           const std::map<std::string, EntryPtr, std::less<>>& entries,
                                                           const svidv1::NewX509SVIDParams& param,
                                                           const datastore::AttestedNode* node) {
  if (param.entry_id().empty()) return Failed(absl::InvalidArgumentError("missing entry ID"));
  if (param.csr().empty()) return Failed(absl::InvalidArgumentError("missing CSR"));
  auto it = entries.find(param.entry_id());
  if (it == entries.end()) return Failed(absl::NotFoundError("entry not found or not authorized"));
  auto svid = SignEntryX509Svid(deps, *it->second, param.csr(), node);
  if (!svid.ok()) return Failed(svid.status());
  svidv1::BatchNewX509SVIDResponse::Result r;
  X509SvidToProto(it->second->spiffe_id, *svid, r.mutable_svid());
  spireapi::StatusToProto(absl::OkStatus(), r.mutable_status());
  return r;
}

grpc::ServerUnaryReactor* SvidService::BatchNewX509SVID(grpc::CallbackServerContext* ctx,
                                                        const svidv1::BatchNewX509SVIDRequest* req,
                                                        svidv1::BatchNewX509SVIDResponse* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return FinishUnary(ctx, ToGrpc(a.status()));
  if (req->params().empty()) return FinishUnary(ctx, ToGrpc(absl::InvalidArgumentError("missing parameters")));
  if (req->params_size() > kMaxBatchCsrs) {
    return FinishUnary(ctx,
                       ToGrpc(absl::InvalidArgumentError(absl::StrCat("at most ", kMaxBatchCsrs, " CSRs per batch"))));
  }
  auto wait = ReserveSigningTokens(deps_.limits, ctx->peer(), req->params_size(), deps_.clock.Now(), "CSR");
  if (!wait.ok()) return FinishUnary(ctx, ToGrpc(wait.status()));
  return RunUnary(ctx, RunOn::kCallbackThread, deps_.blocking, *wait, [this, a = std::move(*a), req, resp] {
    auto entries = AuthorizedEntriesById(deps_, a);
    for (const auto& p : req->params()) *resp->add_results() = NewX509SvidResult(deps_, entries, p, &a.node);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* SvidService::NewJWTSVID(grpc::CallbackServerContext* ctx,
                                                  const svidv1::NewJWTSVIDRequest* req,
                                                  svidv1::NewJWTSVIDResponse* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return FinishUnary(ctx, ToGrpc(a.status()));
  if (req->entry_id().empty()) return FinishUnary(ctx, ToGrpc(absl::InvalidArgumentError("missing entry ID")));
  if (req->audience().empty()) {
    return FinishUnary(ctx, ToGrpc(absl::InvalidArgumentError("at least one audience is required")));
  }
  auto wait = ReserveSigningTokens(deps_.limits, ctx->peer(), 1, deps_.clock.Now(), "JWT-SVID");
  if (!wait.ok()) return FinishUnary(ctx, ToGrpc(wait.status()));
  return RunUnary(ctx, RunOn::kCallbackThread, deps_.blocking, *wait,
                  [this, a = std::move(*a), req, resp] { return NewJwtSvid(a, *req, resp); });
}

grpc::Status SvidService::NewJwtSvid(const AuthenticatedAgent& a, const svidv1::NewJWTSVIDRequest& req,
                                     svidv1::NewJWTSVIDResponse* resp) {
  auto entries = AuthorizedEntriesById(deps_, a);
  auto it = entries.find(req.entry_id());
  if (it == entries.end()) return ToGrpc(absl::NotFoundError("entry not found or not authorized"));
  std::vector<std::string> audience(req.audience().begin(), req.audience().end());
  auto jwt = SignEntryJwtSvid(deps_, *it->second, audience, &a.node);
  if (!jwt.ok()) return ToGrpc(jwt.status());
  auto* s = resp->mutable_svid();
  s->set_token(jwt->token);
  spireapi::IdToProto(it->second->spiffe_id, s->mutable_id());
  s->set_issued_at(absl::ToUnixSeconds(jwt->issued_at));
  s->set_expires_at(absl::ToUnixSeconds(jwt->expires_at));
  return grpc::Status::OK;
}

absl::StatusOr<svidv1::NewDownstreamX509CAResponse> NewDownstreamX509Ca(const AgentApiDeps& deps,
                                                                        const std::string& caller_chain_pem,
                                                                        const svidv1::NewDownstreamX509CARequest& req) {
  ASSIGN_OR_RETURN(
      spiffe::SpiffeId caller,
      AuthenticateDownstreamChain(deps, caller_chain_pem, svidv1::SVID::service_full_name(), "NewDownstreamX509CA"));
  if (req.csr().size() > kMaxCsr) return absl::InvalidArgumentError("malformed CSR: too large");
  auto csr = crypto::ParseAndVerifyCsr(req.csr());
  if (!csr.ok()) return Annotate(absl::InvalidArgumentError(csr.status().message()), "malformed CSR");
  const absl::Duration ttl = req.preferred_ttl() > 0 ? absl::Seconds(req.preferred_ttl()) : deps.ca.config().ca_ttl;
  auto key = crypto::PublicKeyFromDer(csr->spki_der);
  if (!key.ok()) return Annotate(absl::InvalidArgumentError(key.status().message()), "malformed CSR");
  auto ca = deps.ca.SignDownstreamCa(key->get(), ttl);
  if (!ca.ok()) return Annotate(absl::InternalError(ca.status().message()), "failed to sign downstream X.509 CA");
  auto bundle = deps.ds.FetchBundle(deps.trust_domain.name());
  if (!bundle.ok()) return Annotate(bundle.status(), "failed to fetch bundle");
  svidv1::NewDownstreamX509CAResponse resp;
  for (const auto& c : ca->chain_der) resp.add_ca_cert_chain(c);
  for (const auto& r : bundle->x509_authorities_der) resp.add_x509_authorities(r);
  spdlog::info("downstream X509 CA serial {} signed for {}", ca->serial, caller.ToString());
  return resp;
}

grpc::ServerUnaryReactor* SvidService::NewDownstreamX509CA(grpc::CallbackServerContext* ctx,
                                                           const svidv1::NewDownstreamX509CARequest* req,
                                                           svidv1::NewDownstreamX509CAResponse* resp) {
  auto pem = PeerChainPem(*ctx);
  if (!pem.ok()) return FinishUnary(ctx, ToGrpc(pem.status()));
  auto wait = ReserveSigningTokens(deps_.limits, ctx->peer(), 1, deps_.clock.Now(), "downstream X509 CA");
  if (!wait.ok()) return FinishUnary(ctx, ToGrpc(wait.status()));
  return RunUnary(ctx, RunOn::kBlockingPool, deps_.blocking, *wait, [this, pem = std::move(*pem), req, resp] {
    auto r = NewDownstreamX509Ca(deps_, pem, *req);
    if (!r.ok()) return ToGrpc(r.status());
    *resp = std::move(*r);
    return grpc::Status::OK;
  });
}

}  // namespace spirecvm::server::spireagent
