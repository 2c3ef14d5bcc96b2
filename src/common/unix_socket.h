// Helpers for the listening Unix sockets of the admin and Workload APIs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spirecvm {

// mkdir -p the parent directory (dir_mode applied to the created/leaf dir, e.g. 0750 or 0755) and remove a stale
// socket file at socket_path. Refuses (FailedPrecondition) to remove anything that is not a socket.
absl::Status PrepareSocketPath(const std::string& socket_path, mode_t dir_mode);

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
