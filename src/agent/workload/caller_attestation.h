// Workload attestation of a local process, guarded against PID reuse: shared by the Workload API (the caller of a
// connection) and the admin API's DelegatedIdentity (the delegate itself, and a workload named by PID).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/workload/workload_attestor.h"

namespace spirecvm::agent {

// Checks that `caller` is still the process that was recorded (same start time) before and after running the
// attestor, so a PID reused while /proc was read is refused (PermissionDenied). Blocking (reads /proc).
absl::StatusOr<std::vector<std::string>> AttestProcess(const CallerInfo& caller, WorkloadAttestor& attestor,
                                                       const std::string& proc_root);

// The credentials of a running process named by PID, read from <proc_root>/<pid>/status (effective uid and gid,
// as SO_PEERCRED reports them) and stat (start time). NotFound when there is no such process; InvalidArgument for
// pid <= 0.
absl::StatusOr<CallerInfo> CallerFromPid(pid_t pid, const std::string& proc_root);

}  // namespace spirecvm::agent
