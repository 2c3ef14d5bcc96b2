#include "agent/workload/peer_registry.h"

#include "absl/strings/numbers.h"

namespace spirecvm::agent {

std::optional<int> PeerRegistry::FdFromPeer(std::string_view peer) {
  size_t pos = peer.rfind("fd:");
  if (pos == std::string_view::npos) return std::nullopt;
  int fd;
  std::string_view num = peer.substr(pos + 3);
  if (!absl::SimpleAtoi(absl::string_view(num.data(), num.size()), &fd) || fd < 0) return std::nullopt;
  return fd;
}

}  // namespace spirecvm::agent
