// Maps the connections the agent accepted itself (and handed to gRPC) to the credentials the kernel reported at
// accept. gRPC names such a connection's peer "fd:<n>"; the registry is keyed by that fd number and an entry is
// replaced when the number is reused by a later accept.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "agent/workload/workload_attestor.h"

namespace spirecvm::agent {

// Records in `caller` the (device, inode) that <proc_root>/<pid>/exe resolves to (CallerInfo.exe_*), at accept.
absl::Status RecordExecutable(CallerInfo& caller, const std::string& proc_root);

// Thread-safe.
class PeerRegistry {
 public:
  void Put(int fd, const CallerInfo& info) {
    std::lock_guard<std::mutex> l(mu_);
    by_fd_[fd] = info;
  }
  std::optional<CallerInfo> Get(int fd) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) return std::nullopt;
    return it->second;
  }
  // "fd:12" (also "unix:fd:12"-style suffixes) -> 12.
  static std::optional<int> FdFromPeer(std::string_view peer);

 private:
  mutable std::mutex mu_;
  absl::flat_hash_map<int, CallerInfo> by_fd_;
};

}  // namespace spirecvm::agent
