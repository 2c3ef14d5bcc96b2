#include "agent/workload/endpoint.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {

absl::StatusOr<std::unique_ptr<WorkloadEndpoint>> WorkloadEndpoint::Start(const std::string& socket_path,
                                                                          WorkloadApiDeps deps) {
  std::unique_ptr<WorkloadEndpoint> ep(new WorkloadEndpoint());
  ep->socket_path_ = socket_path;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  RETURN_IF_ERROR(PrepareSocketPath(socket_path, 0755));
  ep->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ep->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (::bind(ep->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::InternalError(absl::StrCat("bind ", socket_path, ": ", std::strerror(errno)));
  }
  if (::chmod(socket_path.c_str(), 0777) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", socket_path, ": ", std::strerror(errno)));
  }
  if (::listen(ep->listen_fd_, 1024) != 0) {
    return absl::InternalError(absl::StrCat("listen ", socket_path, ": ", std::strerror(errno)));
  }
  ep->service_ = std::make_unique<WorkloadApiService>(std::move(deps));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(ep->service_.get());
  // Watchers hold streams for a long time; do not cap streams per connection.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1 << 20);
  ep->server_ = builder.BuildAndStart();
  if (!ep->server_) return absl::InternalError("could not start the Workload API gRPC server");
  ep->server_->GetHealthCheckService()->SetServingStatus(true);
  ep->acceptor_ = std::make_unique<PeerAcceptor>("workload API", ep->listen_fd_, ep->server_.get(),
                                                 ep->service_->deps().peers, ep->service_->deps().proc_root);
  RETURN_IF_ERROR(ep->acceptor_->Start());
  return ep;
}

void WorkloadEndpoint::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (acceptor_) acceptor_->Shutdown();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(socket_path_.c_str());
  }
}

WorkloadEndpoint::~WorkloadEndpoint() {
  Shutdown();
  if (server_) server_->Wait();
}

}  // namespace spirecvm::agent
