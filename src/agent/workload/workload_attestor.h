// Workload attestors turn the kernel-reported identity of a caller into selectors ("type:value").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spirecvm::agent {

// Credentials of a Workload API connection, taken with SO_PEERCRED when it was accepted.
struct CallerInfo {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22 at accept: guards against PID reuse
  // The executable (device, inode) of /proc/<pid>/exe at accept: a process that execve()s another program after
  // connecting (keeping the connection, or handing it to a child) is caught when attestation sees a different one.
  bool exe_known = false;
  uint64_t exe_dev = 0;
  uint64_t exe_ino = 0;
};

// What the catalog (agent/catalog.h) builds a WorkloadAttestor with, besides its plugin_data.
struct WorkloadAttestorDeps {
  std::string proc_root = "/proc";  // tests point it at a fake procfs
};

// Thread-safety: Attest is called concurrently, from every thread of the Workload API worker pool at once (one call
// per incoming request); implementations must be safe for that and must not block longer than the work it takes
// (reading /proc, hashing an executable). name() is constant.
class WorkloadAttestor {
 public:
  virtual ~WorkloadAttestor() = default;
  virtual std::string name() const = 0;
  virtual absl::StatusOr<std::vector<std::string>> Attest(const CallerInfo& caller) = 0;
};

}  // namespace spirecvm::agent
