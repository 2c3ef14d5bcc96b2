// The admin API (spirecvm.admin.v1.Admin) on the server's Unix socket, used by the spire-server CLI.
// Access control is the socket's file mode (0770 in a 0750 directory), as in SPIRE.
#pragma once

#include "admin.grpc.pb.h"
#include "common/clock.h"
#include "common/random.h"
#include "server/api/svid_ttls.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/metrics.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// Checks an entry as an operator wrote it; every reason names the field.
absl::Status ValidateEntry(const spiffe::TrustDomain& td, const datastore::RegistrationEntry& e);

// What the Admin service uses. Every member is thread-safe: gRPC calls it from its pool concurrently.
struct AdminServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  CaManager& ca;
  EntryCache& entries;  // refreshed after every entry change, so agents see it at once
  Clock& clock;
  Random& rnd;
  Metrics& metrics;
  SvidTtls ttls;
};

class AdminService final : public admin::v1::Admin::Service {
 public:
  explicit AdminService(AdminServiceDeps deps) : deps_(deps) {}

  grpc::Status CreateJoinToken(grpc::ServerContext*, const admin::v1::CreateJoinTokenRequest*,
                               admin::v1::CreateJoinTokenResponse*) override;
  grpc::Status CreateEntry(grpc::ServerContext*, const admin::v1::CreateEntryRequest*,
                           admin::v1::EntryResult*) override;
  grpc::Status UpdateEntry(grpc::ServerContext*, const admin::v1::UpdateEntryRequest*,
                           admin::v1::EntryResult*) override;
  grpc::Status DeleteEntry(grpc::ServerContext*, const admin::v1::DeleteEntryRequest*,
                           admin::v1::DeleteEntryResponse*) override;
  grpc::Status GetEntry(grpc::ServerContext*, const admin::v1::GetEntryRequest*, types::Entry*) override;
  grpc::Status ListEntries(grpc::ServerContext*, const admin::v1::ListEntriesRequest*,
                           admin::v1::ListEntriesResponse*) override;
  grpc::Status CountEntries(grpc::ServerContext*, const admin::v1::CountEntriesRequest*,
                            admin::v1::CountResponse*) override;
  grpc::Status ListAgents(grpc::ServerContext*, const admin::v1::ListAgentsRequest*,
                          admin::v1::ListAgentsResponse*) override;
  grpc::Status GetAgent(grpc::ServerContext*, const admin::v1::GetAgentRequest*, types::AttestedNode*) override;
  grpc::Status CountAgents(grpc::ServerContext*, const admin::v1::CountAgentsRequest*,
                           admin::v1::CountResponse*) override;
  grpc::Status EvictAgent(grpc::ServerContext*, const admin::v1::AgentIdRequest*, admin::v1::Empty*) override;
  grpc::Status BanAgent(grpc::ServerContext*, const admin::v1::AgentIdRequest*, admin::v1::Empty*) override;
  grpc::Status GetBundle(grpc::ServerContext*, const admin::v1::GetBundleRequest*, types::Bundle*) override;
  grpc::Status MintX509SVID(grpc::ServerContext*, const admin::v1::MintX509SVIDRequest*,
                            admin::v1::MintX509SVIDResponse*) override;
  grpc::Status MintJWTSVID(grpc::ServerContext*, const admin::v1::MintJWTSVIDRequest*,
                           admin::v1::MintJWTSVIDResponse*) override;
  grpc::Status Health(grpc::ServerContext*, const admin::v1::Empty*, admin::v1::HealthResponse*) override;

 private:
  AdminServiceDeps deps_;
};

}  // namespace spirecvm::server
