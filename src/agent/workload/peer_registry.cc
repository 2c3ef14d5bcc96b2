#include "agent/workload/peer_registry.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace spirecvm::agent {

absl::Status RecordExecutable(CallerInfo& caller, const std::string& proc_root) {
  const std::string exe = absl::StrCat(proc_root, "/", caller.pid, "/exe");
  struct stat st;
  if (::stat(exe.c_str(), &st) != 0)
    return absl::PermissionDeniedError(absl::StrCat("stat ", exe, ": ", std::strerror(errno)));
  caller.exe_known = true;
  caller.exe_dev = st.st_dev;
  caller.exe_ino = st.st_ino;
  return absl::OkStatus();
}

std::optional<int> PeerRegistry::FdFromPeer(std::string_view peer) {
  size_t pos = peer.rfind("fd:");
  if (pos == std::string_view::npos) return std::nullopt;
  int fd;
  std::string_view num = peer.substr(pos + 3);
  if (!absl::SimpleAtoi(absl::string_view(num.data(), num.size()), &fd) || fd < 0) return std::nullopt;
  return fd;
}

}  // namespace spirecvm::agent
