// The assembled agent: config -> key manager, node attestor, storage, cache, manager loop, Workload API endpoint.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "agent/config/agent_config.h"
#include "agent/keymanager/key_manager.h"
#include "agent/manager/manager.h"
#include "agent/nodeattest/node_attestor.h"
#include "agent/workload/endpoint.h"
#include "agent/workload/unix_attestor.h"

namespace spirecvm::agent {

// Builds the NodeAttestorClient a config names. join_token is built in; others (aws_iid, ...) register here.
using NodeAttestorFactory =
    std::function<absl::StatusOr<std::unique_ptr<NodeAttestorClient>>(const AgentConfig& config)>;
void RegisterNodeAttestor(const std::string& name, NodeAttestorFactory factory);
absl::StatusOr<std::unique_ptr<NodeAttestorClient>> MakeNodeAttestor(const AgentConfig& config);

class Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Create(const AgentConfig& config);
  ~Agent();
  // Starts the manager loop and the Workload API.
  absl::Status Start();
  void Stop();
  Manager& manager() { return *manager_; }

 private:
  Agent() = default;
  AgentConfig config_;
  std::unique_ptr<NodeAttestorClient> attestor_;
  std::unique_ptr<KeyManager> keys_;
  std::unique_ptr<AgentStorage> storage_;
  std::unique_ptr<GrpcServerConnector> connector_;
  std::shared_ptr<Cache> cache_;
  std::unique_ptr<Manager> manager_;
  std::unique_ptr<UnixAttestor> workload_attestor_;
  std::unique_ptr<PeerRegistry> peers_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<WorkloadEndpoint> endpoint_;
  std::thread manager_thread_;
  bool stopped_ = false;
};

}  // namespace spirecvm::agent
