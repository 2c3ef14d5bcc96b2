// SPIRE's spire.api.server.bundle.v1.Bundle on the agent TLS endpoint: GetBundle (this trust domain's bundle, from
// the bundle cache; any caller, as SPIRE), GetFederatedBundle for agent callers and PublishJWTAuthority for
// downstream callers. The admin methods are forwarded to the admin socket's service for admin callers
// (admin_caller.h), PermissionDenied for anyone else.
#pragma once

#include "server/api/agent_api_deps.h"
#include "server/api/spire/bundle_service.h"
#include "server/api/spire_agent/caller.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"

namespace spirecvm::server::spireagent {

namespace bundlev1 = ::spire::api::server::bundle::v1;

// PublishJWTAuthority for the caller whose X509-SVID chain (PEM, leaf first) this is: a downstream caller
// (AuthenticateDownstreamChain), as SPIRE. SPIRE's checks: InvalidArgument "missing JWT authority", "invalid JWT
// authority: ..." (the public key is not PKIX DER, or no key ID). The key is appended to our bundle, as SPIRE's server
// does when no UpstreamAuthority publishes JWT keys for it (SPIRE's disk plugin, the only one here, does not); the
// answer is the bundle's JWT authorities after the append. Thread-safe.
absl::StatusOr<bundlev1::PublishJWTAuthorityResponse> PublishJwtAuthority(
    const AgentApiDeps& deps, const std::string& caller_chain_pem, const bundlev1::PublishJWTAuthorityRequest& req);

class BundleService final : public bundlev1::Bundle::CallbackService {
 public:
  // `admin`: the admin socket's BundleService for admin callers over TLS (default: none, every admin method denied).
  explicit BundleService(AgentApiDeps deps, AdminDelegate<spireapi::BundleService> admin = {})
      : deps_(deps), admin_(admin) {}

  // On gRPC's callback API (unary_call.h): the bundles on the callback thread, PublishJWTAuthority (a datastore
  // write) on the blocking pool.
  grpc::ServerUnaryReactor* GetBundle(grpc::CallbackServerContext* ctx, const bundlev1::GetBundleRequest* req,
                                      sapi::Bundle* resp) override;
  grpc::ServerUnaryReactor* GetFederatedBundle(grpc::CallbackServerContext* ctx,
                                               const bundlev1::GetFederatedBundleRequest* req,
                                               sapi::Bundle* resp) override;
  grpc::ServerUnaryReactor* PublishJWTAuthority(grpc::CallbackServerContext* ctx,
                                                const bundlev1::PublishJWTAuthorityRequest* req,
                                                bundlev1::PublishJWTAuthorityResponse* resp) override;

  SPIREAGENT_ADMIN_ONLY(CountBundles, bundlev1::CountBundlesRequest, bundlev1::CountBundlesResponse)
  SPIREAGENT_ADMIN_ONLY(AppendBundle, bundlev1::AppendBundleRequest, sapi::Bundle)
  SPIREAGENT_ADMIN_ONLY(ListFederatedBundles, bundlev1::ListFederatedBundlesRequest,
                        bundlev1::ListFederatedBundlesResponse)
  SPIREAGENT_ADMIN_ONLY(BatchCreateFederatedBundle, bundlev1::BatchCreateFederatedBundleRequest,
                        bundlev1::BatchCreateFederatedBundleResponse)
  SPIREAGENT_ADMIN_ONLY(BatchUpdateFederatedBundle, bundlev1::BatchUpdateFederatedBundleRequest,
                        bundlev1::BatchUpdateFederatedBundleResponse)
  SPIREAGENT_ADMIN_ONLY(BatchSetFederatedBundle, bundlev1::BatchSetFederatedBundleRequest,
                        bundlev1::BatchSetFederatedBundleResponse)
  SPIREAGENT_ADMIN_ONLY(BatchDeleteFederatedBundle, bundlev1::BatchDeleteFederatedBundleRequest,
                        bundlev1::BatchDeleteFederatedBundleResponse)

 private:
  AgentApiDeps deps_;
  AdminDelegate<spireapi::BundleService> admin_;
};

}  // namespace spirecvm::server::spireagent
