// The Workload API endpoint: a Unix socket the agent accepts on itself, so it can take SO_PEERCRED (and the
// process start time) of each connection before handing the fd to gRPC. Serves the Workload API and the gRPC
// health service, and Envoy's Secret Discovery Service (agent/sds) on the same socket, as SPIRE.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/sds/sds_service.h"
#include "agent/workload/peer_acceptor.h"
#include "agent/workload/workload_api.h"

namespace spirecvm::agent {

class WorkloadEndpoint {
 public:
  // Binds socket_path (parent dir created 0755, socket 0777 like SPIRE: any local process may ask who it is).
  static absl::StatusOr<std::unique_ptr<WorkloadEndpoint>> Start(const std::string& socket_path, WorkloadApiDeps deps,
                                                                 sds::SdsDeps sds = {});
  ~WorkloadEndpoint();
  // Stops accepting, cancels every call (streams end), waits for them.
  void Shutdown();
  // What grpc.health.v1 answers (and `spire-agent healthcheck` reports): NOT_SERVING until the agent holds an
  // attested identity, as SPIRE's agent, which opens this socket only after node attestation.
  void SetServing(bool serving);
  WorkloadApiService& service() { return *service_; }
  sds::SdsService& sds() { return *sds_; }
  grpc::Server& server() { return *server_; }

 private:
  WorkloadEndpoint() = default;

  std::string socket_path_;
  int listen_fd_ = -1;
  std::unique_ptr<WorkloadApiService> service_;
  std::unique_ptr<sds::SdsService> sds_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerAcceptor> acceptor_;
  bool shut_down_ = false;
};

}  // namespace spirecvm::agent
