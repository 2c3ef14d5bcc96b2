#include "agent/workload/endpoint.h"

#include <fcntl.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
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
  // The directory is checked and held; the socket is bound through it and made 0777 through the node itself.
  ASSIGN_OR_RETURN(ep->listen_fd_, ListenUnixSocket(socket_path, {.dir_mode = 0755, .socket_mode = 0777}));
  if (::pipe2(ep->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }

  ep->service_ = std::make_unique<WorkloadApiService>(std::move(deps));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(ep->service_.get());
  // Watchers hold streams for a long time, but one connection must not open unbounded numbers of them.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, ep->service_->deps().max_streams_per_connection);
  ep->server_ = builder.BuildAndStart();
  if (!ep->server_) return absl::InternalError("could not start the Workload API gRPC server");
  ep->server_->GetHealthCheckService()->SetServingStatus(true);
  ep->accept_thread_ = std::thread([e = ep.get()] { e->AcceptLoop(); });
  return ep;
}

void WorkloadEndpoint::AcceptLoop() {
  const std::string proc_root = service_->deps().proc_root;
  PeerRegistry* peers = service_->deps().peers;
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("workload API: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0 || stopping_.load()) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      spdlog::warn("workload API: accept: {}", std::strerror(errno));
      if (errno == EMFILE || errno == ENFILE) ::usleep(100000);
      continue;
    }
    auto cred = GetPeerCred(fd);
    if (!cred.ok()) {
      spdlog::warn("workload API: peer credentials: {}", cred.status().ToString());
      ::close(fd);
      continue;
    }
    CallerInfo info{cred->pid, cred->uid, cred->gid, 0};
    if (cred->pid > 0) {
      auto start = ProcessStartTime(cred->pid, proc_root);
      if (start.ok()) info.start_time = *start;
      // If the caller is already gone, attestation will refuse it (the start time cannot match); if its executable
      // cannot be read now, unix:path/sha256 are refused later (it could execve into something readable).
      (void)RecordExecutable(info, proc_root);
    }
    peers->Put(fd, info);
    grpc::AddInsecureChannelFromFd(server_.get(), fd);
  }
}

void WorkloadEndpoint::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stopping_.store(true);
  if (wake_pipe_[1] >= 0) {
    char c = 1;
    (void)!::write(wake_pipe_[1], &c, 1);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(socket_path_.c_str());
  }
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

WorkloadEndpoint::~WorkloadEndpoint() {
  Shutdown();
  if (server_) server_->Wait();
}

}  // namespace spirecvm::agent
