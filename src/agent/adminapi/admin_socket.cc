#include "agent/adminapi/admin_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unix_socket.h"

namespace spirecvm::agent::adminapi {
absl::StatusOr<int> ListenAdminSocket(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("admin socket path is empty");
  // A private directory (created 0750; an existing one must not be writable by group or others and must be ours),
  // the socket 0770 as SPIRE's, bound through the held directory and never chmod-ed by path.
  return ListenUnixSocket(path, {.dir_mode = 0750, .socket_mode = 0770}, 128);
}

absl::Status CheckAdminSocketPlacement(const std::string& admin_socket_path, const std::string& workload_socket_path) {
  std::error_code ec;
  std::filesystem::path admin = std::filesystem::absolute(admin_socket_path, ec).lexically_normal();
  if (ec) return absl::InvalidArgumentError(absl::StrCat("admin_socket_path: ", ec.message()));
  std::filesystem::path workload = std::filesystem::absolute(workload_socket_path, ec).lexically_normal();
  if (ec) return absl::InvalidArgumentError(absl::StrCat("socket_path: ", ec.message()));
  std::string workload_dir = workload.parent_path().string();
  if (!absl::EndsWith(workload_dir, "/")) workload_dir += "/";
  if (absl::StartsWith(admin.string(), workload_dir)) {
    return absl::InvalidArgumentError(
        "admin socket cannot be in the same directory or a subdirectory as that containing the Workload API socket");
  }
  return absl::OkStatus();
}

}  // namespace spirecvm::agent::adminapi
