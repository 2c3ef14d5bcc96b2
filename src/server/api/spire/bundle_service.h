// SPIRE's spire.api.server.bundle.v1.Bundle on the admin socket (and, through api/spire_agent, to admin callers
// over TLS): what SPIRE's `spire-server bundle show|list|count|set|delete` and `x509 mint` call. Federated bundles
// are stored in the DataStore beside ours; batch calls answer one types.Status per item with SPIRE's messages.
// PublishJWTAuthority is for downstream servers over TLS (api/spire_agent): refused here as SPIRE refuses it to local
// callers.
#pragma once

#include <string>
#include <string_view>

#include "server/api/spire/denied.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace bundlev1 = ::spire::api::server::bundle::v1;

// Every member is thread-safe: gRPC calls the service from its pool concurrently.
struct BundleServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  EntryCache* entries = nullptr;  // refreshed when deleting a bundle changes entries (DISSOCIATE / DELETE)
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
  grpc::Status AppendBundle(grpc::ServerContext*, const bundlev1::AppendBundleRequest*,
                            ::spire::api::types::Bundle*) override;
  grpc::Status BatchCreateFederatedBundle(grpc::ServerContext*, const bundlev1::BatchCreateFederatedBundleRequest*,
                                          bundlev1::BatchCreateFederatedBundleResponse*) override;
  grpc::Status BatchUpdateFederatedBundle(grpc::ServerContext*, const bundlev1::BatchUpdateFederatedBundleRequest*,
                                          bundlev1::BatchUpdateFederatedBundleResponse*) override;
  grpc::Status BatchSetFederatedBundle(grpc::ServerContext*, const bundlev1::BatchSetFederatedBundleRequest*,
                                       bundlev1::BatchSetFederatedBundleResponse*) override;
  grpc::Status BatchDeleteFederatedBundle(grpc::ServerContext*, const bundlev1::BatchDeleteFederatedBundleRequest*,
                                          bundlev1::BatchDeleteFederatedBundleResponse*) override;
  SPIREAPI_DENIED(bundlev1::Bundle, PublishJWTAuthority, bundlev1::PublishJWTAuthorityRequest,
                  bundlev1::PublishJWTAuthorityResponse)

 private:
  // One item of a batch: the bundle as stored, or the status SPIRE would answer for it. `verb` names the operation
  // in the own-trust-domain refusal ("creating", "updating", "setting").
  absl::StatusOr<datastore::BundleRecord> CheckFederated(const ::spire::api::types::Bundle& in,
                                                         std::string_view verb) const;
  absl::StatusOr<datastore::BundleRecord> CreateOne(const ::spire::api::types::Bundle& in);
  absl::StatusOr<datastore::BundleRecord> UpdateOne(const ::spire::api::types::Bundle& in,
                                                    const ::spire::api::types::BundleMask* mask);
  absl::StatusOr<datastore::BundleRecord> SetOne(const ::spire::api::types::Bundle& in);
  absl::Status DeleteOne(const std::string& trust_domain, datastore::DeleteBundleMode mode);

  BundleServiceDeps deps_;
};

}  // namespace spirecvm::server::spireapi
