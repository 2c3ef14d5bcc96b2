// spire-server's composition root. Server::Start runs these steps in order, each building one layer
// from the ones before it; the free functions can be tested alone (server_test.cc):
//   1. LoadOrCreateServerId   this server's identity in a database several servers may share
//   2. open the DataStore     the configured DataStore plugin
//   3. BuildCa                KeyManager, optional UpstreamAuthority, the CA (journal loaded, an active authority)
//   4. BuildAttestors         the configured NodeAttestor plugins
//   5. services               entry cache, bundle cache, SPIRE's admin APIs
//                             (api/spire: Entry, Agent, Bundle, SVID, LocalAuthority, Logger, Debug), each with its own
//                             deps, SPIRE's agent APIs (api/spire_agent: Agent, Entry, Bundle, SVID, with AgentApiDeps)
//   6. endpoints              server SVID, agent gRPC over TLS (SPIRE's agent APIs only), admin gRPC on
//                             a Unix socket (SPIRE's services and grpc.health.v1), HTTP listeners
//   7. federation             the SPIFFE bundle endpoint and the refresher of federated bundles (when configured)
//   8. background loop        cache refresh, CA and SVID rotation, pruning
// The threads and what each may touch: docs/architecture.md, "Server threads".
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/telemetry/http_listener.h"
#include "common/telemetry/registry.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server.h"
#include "server/api/agent_api_deps.h"
#include "server/api/spire/agent_service.h"
#include "server/api/spire/bundle_service.h"
#include "server/api/spire/debug_service.h"
#include "server/api/spire/entry_service.h"
#include "server/api/spire/localauthority_service.h"
#include "server/api/spire/logger_service.h"
#include "server/api/spire/svid_service.h"
#include "server/api/spire/trustdomain_service.h"
#include "server/api/spire_agent/agent_service.h"
#include "server/api/spire_agent/bundle_service.h"
#include "server/api/spire_agent/entry_service.h"
#include "server/api/spire_agent/svid_service.h"
#include "server/api/svid_ttls.h"
#include "server/background.h"
#include "server/bundle_cache.h"
#include "server/ca/ca_manager.h"
#include "server/catalog.h"
#include "server/config/server_config.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/federation/bundle_endpoint.h"
#include "server/federation/bundle_refresher.h"
#include "server/metrics.h"
#include "server/node_cache.h"
#include "server/server_svid.h"

namespace spirecvm::server {

// The agent API's pool for blocking work (datastore writes, admin callers' methods; api/spire_agent/unary_call.h):
// SQLite serialises writes anyway, PostgreSQL takes several at once; past the queue, RESOURCE_EXHAUSTED.
inline constexpr size_t kAgentApiBlockingThreads = 8;
inline constexpr size_t kAgentApiBlockingQueue = 10000;
// The admin socket's pool (api/spire/on_pool.h): every admin call runs there, apart from the agents' pool.
inline constexpr size_t kAdminApiThreads = 4;
inline constexpr size_t kAdminApiQueue = 10000;

// Step 1: the id under which this server keeps its CA journal (data_dir/server_id, made on first start).
absl::StatusOr<std::string> LoadOrCreateServerId(const std::string& data_dir, Random& rnd);

// Step 3. Members are declared in dependency order (the CA uses the others), so they are destroyed first-to-last
// safely.
struct CaParts {
  std::unique_ptr<KeyManager> km;
  std::unique_ptr<UpstreamAuthority> upstream;  // null without an UpstreamAuthority plugin
  std::unique_ptr<CaManager> ca;
};
CaConfig CaConfigFrom(const ServerConfig& cfg, std::string server_id);
absl::StatusOr<CaParts> BuildCa(const ServerConfig& cfg, const PluginPlan& plan, std::string server_id,
                                datastore::DataStore& ds, Clock& clock, Random& rnd);

// Step 4.
absl::StatusOr<NodeAttestors> BuildAttestors(const PluginPlan& plan, const NodeAttestorDeps& deps);

// Step 6: the agent APIs over TLS with the server SVID in key_path/cert_path (re-read when they change);
// agents attest without a client certificate, every later call is checked by the services.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartAgentEndpoint(const std::string& address,
                                                                 const std::vector<grpc::Service*>& services,
                                                                 const ServerSvid& svid, int* bound_port,
                                                                 bool audit = false,
                                                                 telemetry::Registry* rpc_metrics = nullptr);
// The admin APIs on a Unix socket (0770 in a 0750 directory): access control is the file mode. gRPC's default
// health service (grpc.health.v1, what SPIRE's `spire-server healthcheck` calls) answers SERVING once it listens.
// audit: one audit log line per call (server.audit_log_enabled, api/audit_log.h), on both endpoints.
// rpc_metrics: SPIRE's per-RPC call counters (common/telemetry/rpc_metrics.h), on both endpoints when set.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartAdminEndpoint(const std::string& socket_path,
                                                                 const std::vector<grpc::Service*>& services,
                                                                 bool audit = false,
                                                                 telemetry::Registry* rpc_metrics = nullptr);

class Server {
 public:
  // Reads every plugin's configuration (PlanPlugins); opens nothing.
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerConfig cfg, Clock& clock, Random& rnd);
  ~Server();

  absl::Status Start();
  void Shutdown();

 private:
  Server(ServerConfig cfg, PluginPlan plan, Clock& clock, Random& rnd);
  absl::Status OpenDataStore();
  absl::Status BuildServices();
  void BuildSpireAdminServices(const SvidTtls& ttls);
  void BuildSpireAgentServices();
  AgentApiDeps AgentDeps();
  std::vector<grpc::Service*> AdminOnPool();
  absl::Status StartEndpoints();
  absl::Status StartHttpListeners();
  telemetry::Registry* RpcMetrics();  // the call counters when telemetry is on, else null (no interceptor)
  absl::Status StartFederation();
  // The relationships to keep fresh: the configured ones, then those made through the trustdomain API.
  std::vector<FederationRelationship> FederationRelationships();
  void StartBackgroundLoop();

  ServerConfig cfg_;
  PluginPlan plan_;
  Clock& clock_;
  Random& rnd_;
  Metrics metrics_;
  telemetry::Registry rpc_metrics_{"spire_server"};  // per-RPC call counters, rendered after metrics_
  AgentApiLimits agent_limits_;  // rate limits and step deadline of the agent API (outlives its services)
  // The agent API's blocking work (api/spire_agent/unary_call.h); outlives agent_server_, stopped after it.
  WorkerPool agent_blocking_{kAgentApiBlockingThreads, kAgentApiBlockingQueue};
  // The admin API's calls (api/spire/on_pool.h); outlives admin_server_, stopped after it.
  WorkerPool admin_blocking_{kAdminApiThreads, kAdminApiQueue};
  std::string server_id_;
  std::unique_ptr<datastore::DataStore> ds_;
  CaParts ca_;
  NodeAttestors attestors_;
  std::unique_ptr<EntryCache> entries_;
  std::unique_ptr<NodeCache> nodes_;  // max_attested_node_info_staleness
  std::unique_ptr<BundleCache> bundle_;
  std::unique_ptr<ServerSvid> svid_;
  struct SpireAdminServices {
    std::unique_ptr<spireapi::EntryService> entry;
    std::unique_ptr<spireapi::AgentService> agent;
    std::unique_ptr<spireapi::BundleService> bundle;
    std::unique_ptr<spireapi::SvidService> svid;
    std::unique_ptr<spireapi::LocalAuthorityService> localauthority;
    std::unique_ptr<spireapi::LoggerService> logger;
    std::unique_ptr<spireapi::TrustDomainService> trustdomain;
    std::unique_ptr<spireapi::DebugService> debug;  // made with the server SVID, in StartEndpoints
  } spire_admin_;
  std::vector<std::unique_ptr<grpc::Service>> admin_on_pool_;   // spire_admin_ on the callback API, registered
  std::unique_ptr<spireagent::AdminCallerDeps> admin_callers_;  // who may call the admin APIs over TLS
  struct SpireAgentServices {
    std::unique_ptr<spireagent::AgentService> agent;
    std::unique_ptr<spireagent::EntryService> entry;
    std::unique_ptr<spireagent::BundleService> bundle;
    std::unique_ptr<spireagent::SvidService> svid;
  } spire_agent_;
  std::unique_ptr<grpc::Server> agent_server_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::unique_ptr<telemetry::HttpListener> health_;
  std::unique_ptr<telemetry::HttpListener> telemetry_;
  std::unique_ptr<federation::BundleEndpoint> bundle_endpoint_;
  std::unique_ptr<federation::BundleRefresher> bundle_refresher_;
  std::unique_ptr<BackgroundLoop> loop_;
  bool stopped_ = false;
};

}  // namespace spirecvm::server
