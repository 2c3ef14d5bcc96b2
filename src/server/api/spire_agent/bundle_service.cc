#include "server/api/spire_agent/bundle_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "server/api/limits.h"
#include "server/api/spire/bundle_service.h"
#include "server/api/spire/convert.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireagent {

// Any caller, as in SPIRE: the bundle is public, and SPIRE's agent fetches it right after AttestAgent on the same
// connection, before it has a certificate to present.
grpc::ServerUnaryReactor* BundleService::GetBundle(grpc::CallbackServerContext* ctx,
                                                   const bundlev1::GetBundleRequest* req, sapi::Bundle* resp) {
  auto bundle = deps_.bundle.Get();
  if (!bundle.ok()) return FinishUnary(ctx, ToGrpc(Annotate(bundle.status(), "failed to fetch bundle")));
  spireapi::BundleToProto((*bundle)->record, resp);
  spireapi::ApplyBundleMask(req->has_output_mask() ? &req->output_mask() : nullptr, resp);
  return FinishUnary(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BundleService::GetFederatedBundle(grpc::CallbackServerContext* ctx,
                                                            const bundlev1::GetFederatedBundleRequest* req,
                                                            sapi::Bundle* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return FinishUnary(ctx, ToGrpc(a.status()));
  return FinishUnary(ctx, ToGrpc(spireapi::FetchFederatedBundle(deps_.trust_domain, deps_.ds, *req, resp)));
}

namespace {

// SPIRE's api.ParseJWTAuthorities for one key: the public key first, then the key ID.
absl::StatusOr<datastore::JwtKeyRecord> JwtAuthorityFromProto(const sapi::JWTKey& k) {
  if (k.public_key().size() > kMaxJwtAuthorityKey) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JWT authority: public key is ", k.public_key().size(),
                                                   " bytes, more than the limit of ", kMaxJwtAuthorityKey));
  }
  auto key = crypto::PublicKeyFromDer(k.public_key());
  if (!key.ok()) return Annotate(absl::InvalidArgumentError(key.status().message()), "invalid JWT authority");
  if (k.key_id().empty()) return absl::InvalidArgumentError("invalid JWT authority: missing key ID");
  if (k.key_id().size() > kMaxJwtAuthorityKeyId) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JWT authority: key ID is ", k.key_id().size(),
                                                   " bytes, more than the limit of ", kMaxJwtAuthorityKeyId));
  }
  return datastore::JwtKeyRecord{k.key_id(), k.public_key(), k.expires_at(), false};
}

}  // namespace

absl::StatusOr<bundlev1::PublishJWTAuthorityResponse> PublishJwtAuthority(
    const AgentApiDeps& deps, const std::string& caller_chain_pem, const bundlev1::PublishJWTAuthorityRequest& req) {
  ASSIGN_OR_RETURN(spiffe::SpiffeId caller,
                   AuthenticateDownstreamChain(deps, caller_chain_pem, bundlev1::Bundle::service_full_name(),
                                               "PublishJWTAuthority"));
  if (!req.has_jwt_authority()) return absl::InvalidArgumentError("missing JWT authority");
  ASSIGN_OR_RETURN(datastore::JwtKeyRecord key, JwtAuthorityFromProto(req.jwt_authority()));
  datastore::BundleRecord add;
  add.trust_domain = deps.trust_domain.name();
  add.jwt_keys.push_back(key);
  auto bundle = deps.ds.AppendBundle(add);
  if (!bundle.ok()) return Annotate(absl::InternalError(bundle.status().message()), "failed to publish JWT key");
  // Agents and GetBundle see the key now rather than at the next background refresh.
  if (auto s = deps.bundle.Refresh(); !s.ok())
    spdlog::warn("bundle cache refresh after a published JWT key: {}", s.ToString());
  spdlog::info("JWT authority {} published by downstream {}", key.kid, caller.ToString());
  sapi::Bundle out;
  spireapi::BundleToProto(*bundle, &out);
  bundlev1::PublishJWTAuthorityResponse resp;
  *resp.mutable_jwt_authorities() = std::move(*out.mutable_jwt_authorities());
  return resp;
}

grpc::ServerUnaryReactor* BundleService::PublishJWTAuthority(grpc::CallbackServerContext* ctx,
                                                             const bundlev1::PublishJWTAuthorityRequest* req,
                                                             bundlev1::PublishJWTAuthorityResponse* resp) {
  auto pem = PeerChainPem(*ctx);
  if (!pem.ok()) return FinishUnary(ctx, ToGrpc(pem.status()));
  return RunUnary(ctx, RunOn::kBlockingPool, deps_.blocking, absl::ZeroDuration(),
                  [this, pem = std::move(*pem), req, resp] {
                    auto r = PublishJwtAuthority(deps_, pem, *req);
                    if (!r.ok()) return ToGrpc(r.status());
                    *resp = std::move(*r);
                    return grpc::Status::OK;
                  });
}

}  // namespace spirecvm::server::spireagent
