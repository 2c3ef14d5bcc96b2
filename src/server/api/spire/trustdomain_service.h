// SPIRE's spire.api.server.trustdomain.v1.TrustDomain on the admin socket: federation relationships made through the
// API (what `spire-server federation create|update|delete|list|show|refresh` call), stored in the DataStore, and
// RefreshBundle, which fetches a relationship's bundle at once. Relationships from the server configuration are kept
// fresh too but are not listed here (they are not the API's to change). Batch calls answer one types.Status per item
// with SPIRE's messages.
#pragma once

#include "server/config/federation_config.h"
#include "server/datastore/datastore.h"
#include "server/federation/bundle_refresher.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/trustdomain/v1/trustdomain.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace trustdomainv1 = ::spire::api::server::trustdomain::v1;

// Every member is thread-safe: gRPC calls the service from its pool concurrently.
struct TrustDomainServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  federation::BundleRefresher* refresher = nullptr;  // RefreshBundle; null: Unavailable
};

// A stored relationship as the refresher uses it (InvalidArgument for a row that no longer validates).
absl::StatusOr<server::FederationRelationship> RelationshipFromRecord(const datastore::FederationRelationshipRecord& r);

class TrustDomainService final : public trustdomainv1::TrustDomain::Service {
 public:
  explicit TrustDomainService(TrustDomainServiceDeps deps) : deps_(deps) {}

  grpc::Status ListFederationRelationships(grpc::ServerContext*,
                                           const trustdomainv1::ListFederationRelationshipsRequest*,
                                           trustdomainv1::ListFederationRelationshipsResponse*) override;
  grpc::Status GetFederationRelationship(grpc::ServerContext*, const trustdomainv1::GetFederationRelationshipRequest*,
                                         ::spire::api::types::FederationRelationship*) override;
  grpc::Status BatchCreateFederationRelationship(grpc::ServerContext*,
                                                 const trustdomainv1::BatchCreateFederationRelationshipRequest*,
                                                 trustdomainv1::BatchCreateFederationRelationshipResponse*) override;
  grpc::Status BatchUpdateFederationRelationship(grpc::ServerContext*,
                                                 const trustdomainv1::BatchUpdateFederationRelationshipRequest*,
                                                 trustdomainv1::BatchUpdateFederationRelationshipResponse*) override;
  grpc::Status BatchDeleteFederationRelationship(grpc::ServerContext*,
                                                 const trustdomainv1::BatchDeleteFederationRelationshipRequest*,
                                                 trustdomainv1::BatchDeleteFederationRelationshipResponse*) override;
  grpc::Status RefreshBundle(grpc::ServerContext*, const trustdomainv1::RefreshBundleRequest*,
                             google::protobuf::Empty*) override;

 private:
  absl::StatusOr<datastore::FederationRelationshipRecord> CreateOne(
      const ::spire::api::types::FederationRelationship& in);
  absl::StatusOr<datastore::FederationRelationshipRecord> UpdateOne(
      const ::spire::api::types::FederationRelationship& in,
      const ::spire::api::types::FederationRelationshipMask& mask);
  // The relationship on the wire, its stored bundle included when the mask asks for it.
  void ToProto(const datastore::FederationRelationshipRecord& r,
               const ::spire::api::types::FederationRelationshipMask& mask,
               ::spire::api::types::FederationRelationship* out);

  TrustDomainServiceDeps deps_;
};

}  // namespace spirecvm::server::spireapi
