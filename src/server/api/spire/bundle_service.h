// SPIRE's spire.api.server.bundle.v1.Bundle, read methods, on the admin socket: what SPIRE's
// `spire-server bundle show|list|count` and `x509 mint` call. spire-cvm has no federation yet: the only bundle
// is our trust domain's, so CountBundles answers 1 (SPIRE counts its own bundle too) and ListFederatedBundles
// answers none. The write methods (AppendBundle, PublishJWTAuthority, Batch*FederatedBundle) are not served.
#pragma once

#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace bundlev1 = ::spire::api::server::bundle::v1;

// Every member is thread-safe: gRPC calls the service from its pool concurrently.
struct BundleServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
};

// GetFederatedBundle's answer, shared by the admin socket and the agent endpoint: the stored bundle of another
// trust domain (InvalidArgument for a bad name or our own, NotFound when none is stored), output mask applied.
absl::Status FetchFederatedBundle(const spiffe::TrustDomain& own, datastore::DataStore& ds,
                                  const bundlev1::GetFederatedBundleRequest& req, ::spire::api::types::Bundle* resp);

class BundleService final : public bundlev1::Bundle::Service {
 public:
  explicit BundleService(BundleServiceDeps deps) : deps_(deps) {}

  grpc::Status CountBundles(grpc::ServerContext*, const bundlev1::CountBundlesRequest*,
                            bundlev1::CountBundlesResponse*) override;
  grpc::Status GetBundle(grpc::ServerContext*, const bundlev1::GetBundleRequest*,
                         ::spire::api::types::Bundle*) override;
  grpc::Status ListFederatedBundles(grpc::ServerContext*, const bundlev1::ListFederatedBundlesRequest*,
                                    bundlev1::ListFederatedBundlesResponse*) override;
  grpc::Status GetFederatedBundle(grpc::ServerContext*, const bundlev1::GetFederatedBundleRequest*,
                                  ::spire::api::types::Bundle*) override;

 private:
  BundleServiceDeps deps_;
};

}  // namespace spirecvm::server::spireapi
