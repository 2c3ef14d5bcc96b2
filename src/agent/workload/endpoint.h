// The Workload API endpoint: a Unix socket the agent accepts on itself, so it can take SO_PEERCRED (and the
// process start time) of each connection before handing the fd to gRPC. Serves the Workload API and the gRPC
// health service.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/workload/peer_acceptor.h"
#include "agent/workload/workload_api.h"

namespace spirecvm::agent {

class WorkloadEndpoint {
 public:
  // Binds socket_path (parent dir created 0755, socket 0777 like SPIRE: any local process may ask who it is).
  static absl::StatusOr<std::unique_ptr<WorkloadEndpoint>> Start(const std::string& socket_path, WorkloadApiDeps deps);
  ~WorkloadEndpoint();
  // Stops accepting, cancels every call (streams end), waits for them.
  void Shutdown();
  WorkloadApiService& service() { return *service_; }
  grpc::Server& server() { return *server_; }

 private:
  WorkloadEndpoint() = default;

  std::string socket_path_;
  int listen_fd_ = -1;
  std::unique_ptr<WorkloadApiService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerAcceptor> acceptor_;
  bool shut_down_ = false;
};

}  // namespace spirecvm::agent
