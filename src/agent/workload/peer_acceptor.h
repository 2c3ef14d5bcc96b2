// Accepts connections on a listening Unix socket itself, records each one's SO_PEERCRED (and the process start
// time) in a PeerRegistry, then hands the fd to a gRPC server. Shared by the Workload API endpoint and the admin
// endpoint: both authorize callers by the kernel-reported identity of the connecting process.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "agent/workload/peer_registry.h"

namespace spirecvm::agent {

// Thread-safety: Start and Shutdown are called from one thread (the owner); the accept loop runs on its own thread
// and only touches the registry (itself thread-safe) and the gRPC server.
class PeerAcceptor {
 public:
  // `name` prefixes log lines ("workload API", "admin API"). Does not take ownership of `listen_fd`.
  PeerAcceptor(std::string name, int listen_fd, grpc::Server* server, PeerRegistry* peers, std::string proc_root);
  ~PeerAcceptor();
  PeerAcceptor(const PeerAcceptor&) = delete;
  PeerAcceptor& operator=(const PeerAcceptor&) = delete;

  // Called on the accept thread for each connection handed to gRPC (the agent counts them). Set before Start().
  void OnAccept(std::function<void()> f) { on_accept_ = std::move(f); }
  absl::Status Start();
  // Stops accepting and joins the thread. Idempotent.
  void Shutdown();

 private:
  void Loop();
  void AcceptOne();

  const std::string name_;
  const int listen_fd_;
  grpc::Server* const server_;
  PeerRegistry* const peers_;
  const std::string proc_root_;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::function<void()> on_accept_;
};

}  // namespace spirecvm::agent
