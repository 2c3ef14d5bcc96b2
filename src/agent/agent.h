// The agent's composition root. Building and starting it are named steps, each a function of its own that a test
// can call alone; Agent runs them in this order:
//
//   1. load config         LoadAgentConfig + flag overrides + ValidateAgentConfig (cli/agent: LoadConfig)
//   2. build plugins       BuildPlugins: key manager, node attestor, workload attestor(s), from the catalog
//   3. build the manager   ManagerOptionsFor (reads the bootstrap bundle), storage, server connector, SVID cache
//   4. restore             Manager::Init: persisted bundle and agent SVID from data_dir, first server connection
//   5. Workload API        StartWorkloadApi: worker pool + endpoint on socket_path; the admin API
//                          (adminapi/admin_endpoint.h) on admin_socket_path when configured
//   6. background loops    the manager thread: node attestation (and re-attestation), rotation, sync, minting
//   7. HTTP listeners      health_checks (live: the manager thread runs; ready: attested and the Workload API
//                          up) and telemetry (Prometheus /metrics), when configured (common/telemetry)
//
// Node attestation is step 6's first pass, not a step before the Workload API: the endpoint answers at once
// (workloads get PermissionDenied until entries arrive) and attestation retries with backoff, as SPIRE's agent.
// Threads and what each may touch: docs/architecture.md, "Agent: plugin catalog, composition and threads".
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "agent/adminapi/admin_endpoint.h"
#include "agent/config/agent_config.h"
#include "agent/keymanager/key_manager.h"
#include "agent/manager/manager.h"
#include "agent/nodeattest/node_attestor.h"
#include "agent/workload/endpoint.h"
#include "agent/workload/workload_attestor.h"
#include "common/telemetry/http_listener.h"
#include "common/telemetry/registry.h"

namespace spirecvm::agent {

// Step 2's result: the plugin instances the configuration names.
struct AgentPlugins {
  std::unique_ptr<KeyManager> key_manager;
  std::unique_ptr<NodeAttestorClient> node_attestor;
  std::unique_ptr<WorkloadAttestor> workload_attestor;  // an AttestorSet when several are configured
};

// Step 2. `workload_deps` lets tests point the workload attestors at a fake procfs.
absl::StatusOr<AgentPlugins> BuildPlugins(const AgentConfig& config,
                                          const WorkloadAttestorDeps& workload_deps = WorkloadAttestorDeps{});
// Step 3's options: intervals, key types, and the bootstrap bundle (read from trust_bundle_path).
absl::StatusOr<ManagerOptions> ManagerOptionsFor(const AgentConfig& config);

// Step 5: the endpoint on `socket_path`, serving what `deps` holds (workload_api.h).
absl::StatusOr<std::unique_ptr<WorkloadEndpoint>> StartWorkloadApi(const std::string& socket_path,
                                                                   WorkloadApiDeps deps);

class Agent {
 public:
  // Steps 2 and 3 (after validating the config). Nothing is started and nothing in data_dir is touched.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(const AgentConfig& config);
  ~Agent();
  // Steps 4, 5 and 6.
  absl::Status Start();
  // Stops accepting, drains the workers, stops and joins the manager thread. Idempotent.
  void Stop();
  Manager& manager() { return *manager_; }
  // Ready as SPIRE's agent: node attestation succeeded (the agent holds its SVID) and the Workload API is up.
  bool ready() const { return attested_.load() && endpoint_ != nullptr; }
  // Live while the manager thread runs its loop (started and not stopped).
  bool live() const { return running_.load(); }
  telemetry::Registry& metrics() { return metrics_; }

 private:
  Agent() = default;
  absl::Status BuildManager();
  absl::Status StartAdminApi();
  absl::Status StartHttpListeners();
  void SetAttested(bool attested);

  AgentConfig config_;
  telemetry::Registry metrics_{"spire_agent"};  // outlives the endpoint and manager that count into it
  AgentPlugins plugins_;
  std::unique_ptr<AgentStorage> storage_;
  std::unique_ptr<GrpcServerConnector> connector_;
  std::shared_ptr<Cache> cache_;
  std::unique_ptr<Manager> manager_;
  std::unique_ptr<PeerRegistry> peers_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<WorkloadEndpoint> endpoint_;
  std::unique_ptr<adminapi::AdminEndpoint> admin_;
  std::thread manager_thread_;
  std::atomic<bool> attested_{false};
  std::atomic<bool> running_{false};
  std::unique_ptr<telemetry::HttpListener> health_;
  std::unique_ptr<telemetry::HttpListener> telemetry_;
  bool stopped_ = false;
};

}  // namespace spirecvm::agent
