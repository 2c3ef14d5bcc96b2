#include "common/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm {

namespace {

absl::Status Errno(int err, absl::string_view op, absl::string_view path) {
  return absl::InternalError(absl::StrCat(op, " ", path, ": ", std::strerror(err)));
}

// mkdir of every missing component of dir with `mode` (umask only narrows it). Sets *created_leaf when the last
// component was created by this call.
absl::Status MakeDirs(const std::string& dir, mode_t mode, bool* created_leaf) {
  *created_leaf = false;
  size_t pos = 0;
  while (true) {
    pos = dir.find('/', pos + 1);
    std::string prefix = dir.substr(0, pos);
    if (!prefix.empty() && prefix != "/") {
      if (::mkdir(prefix.c_str(), mode) == 0) {
        *created_leaf = pos == std::string::npos;
      } else if (errno != EEXIST) {
        return Errno(errno, "mkdir", prefix);
      }
    }
    if (pos == std::string::npos) return absl::OkStatus();
  }
}

// Opens dir without following a symlink in its last component, creating it (and its parents) when missing.
absl::StatusOr<int> OpenOrCreateDir(const std::string& dir, mode_t mode) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(dir.c_str(), kFlags);
  if (fd < 0 && errno == ENOENT) {
    bool created = false;
    RETURN_IF_ERROR(MakeDirs(dir, mode, &created));
    fd = ::open(dir.c_str(), kFlags);
    // The exact mode, through the descriptor (mkdir's mode was narrowed by the umask).
    if (fd >= 0 && created && ::fchmod(fd, mode) != 0) {
      int err = errno;
      ::close(fd);
      return Errno(err, "chmod", dir);
    }
  }
  if (fd >= 0) return fd;
  if (errno == ELOOP || errno == ENOTDIR) {
    return absl::FailedPreconditionError(
        absl::StrCat("socket directory ", dir, " is a symlink or not a directory: refusing it"));
  }
  return Errno(errno, "open socket directory", dir);
}

// The held directory must be owned by the service user (or root) and writable by nobody else.
absl::Status CheckDirOwnerAndMode(int fd, const std::string& dir) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno(errno, "stat", dir);
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    return absl::FailedPreconditionError(absl::StrCat("socket directory ", dir, " is owned by uid ", st.st_uid,
                                                      ", not by the service user (uid ", me, ") or root"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("socket directory ", dir, " is writable by group or others (mode ",
                     absl::StrFormat("%04o", st.st_mode & 07777), "): anyone could replace the socket"));
  }
  return absl::OkStatus();
}

// Removes a stale socket named `name` in the held directory; refuses to remove anything else.
absl::Status RemoveStaleSocket(int dir_fd, const std::string& name, const std::string& socket_path) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return Errno(errno, "stat", socket_path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to remove ", socket_path, ": it exists and is not a socket"));
  }
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return Errno(errno, "remove stale socket", socket_path);
  }
  return absl::OkStatus();
}

}  // namespace

UnixSocketDir::UnixSocketDir(int dir_fd, std::string socket_path, std::string name, mode_t socket_mode)
    : dir_fd_(dir_fd),
      socket_path_(std::move(socket_path)),
      name_(std::move(name)),
      bind_path_(absl::StrCat("/proc/self/fd/", dir_fd, "/", name_)),
      socket_mode_(socket_mode) {}

UnixSocketDir::~UnixSocketDir() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

absl::StatusOr<std::unique_ptr<UnixSocketDir>> UnixSocketDir::Open(const std::string& socket_path,
                                                                   const UnixSocketOptions& options) {
  constexpr size_t kMax = sizeof(sockaddr_un{}.sun_path) - 1;
  if (socket_path.empty()) return absl::InvalidArgumentError("socket path is empty");
  if (socket_path.size() > kMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path ", socket_path, " is too long (", socket_path.size(), " bytes, max ", kMax, ")"));
  }
  auto slash = socket_path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : socket_path.substr(0, slash));
  std::string name = slash == std::string::npos ? socket_path : socket_path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat("socket path ", socket_path, " does not name a file"));
  }
  ASSIGN_OR_RETURN(int fd, OpenOrCreateDir(dir, options.dir_mode));
  std::unique_ptr<UnixSocketDir> held(new UnixSocketDir(fd, socket_path, name, options.socket_mode));
  RETURN_IF_ERROR(CheckDirOwnerAndMode(fd, dir));
  RETURN_IF_ERROR(RemoveStaleSocket(fd, name, socket_path));
  if (held->bind_path_.size() > kMax) {
    return absl::InvalidArgumentError(absl::StrCat("socket name ", name, " is too long"));
  }
  return held;
}

absl::Status UnixSocketDir::SetSocketMode() const {
  int node = ::openat(dir_fd_, name_.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (node < 0) return Errno(errno, "open", socket_path_);
  struct stat st;
  absl::Status status;
  if (::fstat(node, &st) != 0) {
    status = Errno(errno, "stat", socket_path_);
  } else if (!S_ISSOCK(st.st_mode)) {
    status = absl::FailedPreconditionError(absl::StrCat(socket_path_, " is not the socket just bound"));
  } else if (::chmod(absl::StrCat("/proc/self/fd/", node).c_str(), socket_mode_) != 0) {
    // chmod of the O_PATH descriptor's magic link changes exactly that inode (fchmod refuses O_PATH).
    status = Errno(errno, "chmod", socket_path_);
  }
  ::close(node);
  return status;
}

absl::StatusOr<int> ListenUnixSocket(const std::string& socket_path, const UnixSocketOptions& options, int backlog) {
  ASSIGN_OR_RETURN(auto dir, UnixSocketDir::Open(socket_path, options));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(errno, "socket for", socket_path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, dir->bind_path().data(), dir->bind_path().size());
  absl::Status status;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    status = Errno(errno, "bind", socket_path);
  } else if (status = dir->SetSocketMode(); status.ok() && ::listen(fd, backlog) != 0) {
    status = Errno(errno, "listen", socket_path);
  }
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  return fd;
}

absl::StatusOr<PeerCred> GetPeerCred(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return absl::InternalError(absl::StrCat("getsockopt(SO_PEERCRED) on fd ", fd, ": ", std::strerror(errno)));
  }
  if (len != sizeof cred) return absl::InternalError("getsockopt(SO_PEERCRED): short result");
  return PeerCred{cred.pid, cred.uid, cred.gid};
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root) {
  std::string path = absl::StrCat(proc_root, "/", pid, "/stat");
  ASSIGN_OR_RETURN(auto content, files::ReadFile(path));
  // comm (field 2) is in parentheses and may itself contain ')' and spaces: fields resume after the LAST ')'.
  auto close = content.rfind(')');
  if (close == std::string::npos) {
    return absl::DataLossError(absl::StrCat(path, ": malformed (no ')' after comm)"));
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(content).substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  constexpr size_t kIndex = 22 - 3;
  if (fields.size() <= kIndex) {
    return absl::DataLossError(absl::StrCat(path, ": malformed (only ", fields.size() + 2, " fields)"));
  }
  absl::string_view f = fields[kIndex];
  while (!f.empty() && (f.back() == '\n')) f.remove_suffix(1);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ec != std::errc() || ptr != f.data() + f.size() || f.empty()) {
    return absl::DataLossError(absl::StrCat(path, ": starttime \"", f, "\" is not a number"));
  }
  return v;
}

}  // namespace spirecvm
