#include "agent/workload/peer_acceptor.h"

#include <fcntl.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/unix_socket.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {

PeerAcceptor::PeerAcceptor(std::string name, int listen_fd, grpc::Server* server, PeerRegistry* peers,
                           std::string proc_root)
    : name_(std::move(name)), listen_fd_(listen_fd), server_(server), peers_(peers), proc_root_(std::move(proc_root)) {}

PeerAcceptor::~PeerAcceptor() { Shutdown(); }

absl::Status PeerAcceptor::Start() {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat(name_, ": pipe: ", std::strerror(errno)));
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void PeerAcceptor::Loop() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("{}: poll: {}", name_, std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0 || stopping_.load()) return;
    if ((fds[0].revents & POLLIN) != 0) AcceptOne();
  }
}

void PeerAcceptor::AcceptOne() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) return;
    spdlog::warn("{}: accept: {}", name_, std::strerror(errno));
    if (errno == EMFILE || errno == ENFILE) ::usleep(100000);
    return;
  }
  auto cred = GetPeerCred(fd);
  if (!cred.ok()) {
    spdlog::warn("{}: peer credentials: {}", name_, cred.status().ToString());
    ::close(fd);
    return;
  }
  CallerInfo info{cred->pid, cred->uid, cred->gid, 0};
  if (cred->pid > 0) {
    auto start = ProcessStartTime(cred->pid, proc_root_);
    if (start.ok()) info.start_time = *start;
    // If the caller is already gone, attestation will refuse it (the start time cannot match); if its executable
    // cannot be read now, unix:path/sha256 are refused later (it could execve into something readable).
    (void)RecordExecutable(info, proc_root_);
  }
  peers_->Put(fd, info);
  grpc::AddInsecureChannelFromFd(server_, fd);
  if (on_accept_) on_accept_();
}

void PeerAcceptor::Shutdown() {
  stopping_.store(true);
  if (wake_pipe_[1] >= 0) {
    char c = 1;
    (void)!::write(wake_pipe_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

}  // namespace spirecvm::agent
