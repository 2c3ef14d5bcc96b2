// Helpers for the listening Unix sockets of the admin and Workload APIs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spirecvm {

// How a listening Unix socket and its directory are created.
struct UnixSocketOptions {
  // Mode of a directory we create (missing parents get it too). An existing directory keeps its mode but must be
  // owned by the service user (the effective uid) or root and not writable by group or others.
  mode_t dir_mode = 0750;
  // Mode of the socket node, applied through a descriptor of the node itself, never by path.
  mode_t socket_mode = 0770;
};

// The directory of a socket path, checked and held open. Binding goes through the held descriptor
// (/proc/self/fd/<n>/<name>), so renaming the directory or swapping a symlink in after the check cannot redirect the
// socket, and the socket's mode is set through an O_PATH descriptor of the node found in that directory.
// Not thread-safe; keep it alive until the socket is bound and SetSocketMode has run.
class UnixSocketDir {
 public:
  ~UnixSocketDir();
  UnixSocketDir(const UnixSocketDir&) = delete;
  UnixSocketDir& operator=(const UnixSocketDir&) = delete;

  // Checks (creating what is missing) the parent directory of socket_path and removes a stale socket there.
  // FailedPrecondition: the directory is a symlink, not a directory, owned by another user, writable by group or
  // others; or a non-socket file sits at the socket path. InvalidArgument: empty or too long path.
  static absl::StatusOr<std::unique_ptr<UnixSocketDir>> Open(const std::string& socket_path,
                                                             const UnixSocketOptions& options);

  // The path to hand to bind(2): "/proc/self/fd/<n>/<name>".
  const std::string& bind_path() const { return bind_path_; }
  // The same as a gRPC listening address ("unix:" + bind_path()).
  std::string GrpcAddress() const { return "unix:" + bind_path_; }
  // After the socket is bound: applies socket_mode to the node in the held directory (which must be a socket).
  absl::Status SetSocketMode() const;

 private:
  UnixSocketDir(int dir_fd, std::string socket_path, std::string name, mode_t socket_mode);
  int dir_fd_;
  std::string socket_path_, name_, bind_path_;
  mode_t socket_mode_;
};

// UnixSocketDir::Open + socket + bind + SetSocketMode + listen. The listening descriptor (SOCK_CLOEXEC), owned by
// the caller.
absl::StatusOr<int> ListenUnixSocket(const std::string& socket_path, const UnixSocketOptions& options,
                                     int backlog = 1024);

struct PeerCred {
  pid_t pid;
  uid_t uid;
  gid_t gid;
};
// SO_PEERCRED of a connected Unix socket.
absl::StatusOr<PeerCred> GetPeerCred(int fd);

// Field 22 (starttime, clock ticks since boot) of <proc_root>/<pid>/stat, parsed after the LAST ')' because
// comm may contain spaces and ')'. Used to detect PID reuse between attestation and use.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root = "/proc");

}  // namespace spirecvm
