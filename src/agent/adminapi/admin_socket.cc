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
namespace {

std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

absl::Status CheckDirNotWorldWritable(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::InternalError(absl::StrCat("stat ", dir, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin socket directory ", dir, " is writable by others; use a private directory"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> ListenAdminSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("admin socket path \"", path, "\" is empty or too long"));
  }
  RETURN_IF_ERROR(PrepareSocketPath(path, 0750));
  RETURN_IF_ERROR(CheckDirNotWorldWritable(ParentDir(path)));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const mode_t old_umask = ::umask(0007);
  const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("bind ", path, ": ", std::strerror(bind_errno)));
  }
  if (::listen(fd, 128) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat("listen ", path, ": ", std::strerror(e)));
  }
  return fd;
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
