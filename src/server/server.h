// spire-server: wires the configuration, plugins, CA, entry cache and the two API endpoints
// (agent-facing gRPC over TLS, admin gRPC on a Unix socket) and runs the background loops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/random.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server.h"
#include "server/ca/ca_manager.h"
#include "server/ca/upstream_authority.h"
#include "server/config/server_config.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/keymanager/key_manager.h"
#include "server/metrics.h"
#include "server/server_context.h"

namespace spirecvm::server {

// Reads every plugin's plugin_data and reports all configuration errors at once, without opening
// anything. What `spire-server validate` runs, and the first step of `run`.
struct PluginPlan {
  std::string datastore_type;  // "sqlite3" | "postgres"
  std::string connection_string;
  // postgres only (SPIRE's keys): pool size, connection recycling, optional read replica.
  int max_open_conns = 10;
  absl::Duration conn_max_lifetime = absl::ZeroDuration();  // 0 = unlimited
  std::string ro_connection_string;
  std::string keymanager;  // "disk" | "memory"
  std::string keys_path;
  std::optional<DiskUpstreamConfig> upstream;
  // Builds each configured node attestor once the DataStore exists.
  std::vector<std::pair<std::string, std::function<absl::StatusOr<std::unique_ptr<NodeAttestor>>(ServerContext&)>>>
      attestors;
};
absl::StatusOr<PluginPlan> PlanPlugins(ServerConfig& cfg);

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerConfig cfg, Clock& clock, Random& rnd);
  ~Server();

  absl::Status Start();
  void Shutdown();
  int bound_port() const { return bound_port_; }
  ServerContext& context() { return sc_; }

 private:
  Server(ServerConfig cfg, Clock& clock, Random& rnd);
  absl::Status RotateServerSvid(bool force);
  void BackgroundLoop();

  ServerConfig cfg_;
  Clock& clock_;
  Random& rnd_;
  PluginPlan plan_;
  std::string server_id_;
  std::unique_ptr<datastore::DataStore> ds_;
  std::unique_ptr<KeyManager> km_;
  std::unique_ptr<UpstreamAuthority> upstream_;
  std::unique_ptr<CaManager> ca_;
  std::unique_ptr<EntryCache> entries_;
  ServerContext sc_;
  Metrics metrics_;
  std::unique_ptr<BundleCache> bundle_;
  std::unique_ptr<grpc::Service> node_service_;
  std::unique_ptr<grpc::Service> admin_service_;
  std::unique_ptr<grpc::Server> agent_server_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::string svid_key_path_, svid_cert_path_;
  absl::Time svid_not_before_ = absl::InfinitePast(), svid_not_after_ = absl::InfinitePast();
  int bound_port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread loop_;
  struct HealthListener;
  std::unique_ptr<HealthListener> health_;
  std::unique_ptr<HealthListener> telemetry_;
};

}  // namespace spirecvm::server
