// The agent's admin API endpoint, as SPIRE's agent serves it on `admin_socket_path`: Debug, Logger,
// DelegatedIdentity and gRPC health, on a Unix socket whose connections the agent accepts itself (PeerAcceptor) so
// DelegatedIdentity can attest its callers by their peer credentials.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/adminapi/debug_service.h"
#include "agent/adminapi/delegate_authorizer.h"
#include "agent/adminapi/delegated_identity.h"
#include "agent/adminapi/logger_service.h"
#include "agent/workload/peer_acceptor.h"

namespace spirecvm::agent::adminapi {

struct AdminApiDeps {
  std::shared_ptr<Cache> cache;
  WorkloadAttestor* attestor = nullptr;  // the agent's workload attestors
  JwtMinter* minter = nullptr;
  WorkerPool* pool = nullptr;
  const Clock* clock = nullptr;
  std::string proc_root = "/proc";
  std::vector<std::string> authorized_delegates;  // SPIFFE IDs
  DebugSource debug;
  std::shared_ptr<spdlog::logger> logger;  // the one Logger reads and sets
};

class AdminEndpoint {
 public:
  static absl::StatusOr<std::unique_ptr<AdminEndpoint>> Start(const std::string& socket_path, AdminApiDeps deps);
  ~AdminEndpoint();
  // Stops accepting, ends every call, removes the socket. Idempotent.
  void Shutdown();

 private:
  AdminEndpoint() = default;

  std::string socket_path_;
  int listen_fd_ = -1;
  PeerRegistry peers_;
  std::unique_ptr<DelegateAuthorizer> authorizer_;
  std::unique_ptr<DebugService> debug_;
  std::unique_ptr<LoggerService> logger_;
  std::unique_ptr<DelegatedIdentityService> delegated_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerAcceptor> acceptor_;
  bool shut_down_ = false;
};

}  // namespace spirecvm::agent::adminapi
