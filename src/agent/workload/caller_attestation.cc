#include "agent/workload/caller_attestation.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/workload/peer_registry.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unix_socket.h"

namespace spirecvm::agent {
namespace {

absl::Status CheckSameProcess(const CallerInfo& caller, const std::string& proc_root) {
  auto st = ProcessStartTime(caller.pid, proc_root);
  if (!st.ok() || *st != caller.start_time) {
    return absl::PermissionDeniedError(
        absl::StrCat("workload process ", caller.pid, " exited or its pid was reused since it connected"));
  }
  return absl::OkStatus();
}

// The second (effective) id of a "Uid:" or "Gid:" line of /proc/<pid>/status.
absl::StatusOr<uint32_t> EffectiveId(absl::string_view status, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    std::vector<absl::string_view> ids = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint32_t id;
    if (ids.size() < 2 || !absl::SimpleAtoi(ids[1], &id)) break;
    return id;
  }
  return absl::InternalError(absl::StrCat("process status has no valid \"", key, "\" line"));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> AttestProcess(const CallerInfo& caller, WorkloadAttestor& attestor,
                                                       const std::string& proc_root) {
  RETURN_IF_ERROR(CheckSameProcess(caller, proc_root));
  ASSIGN_OR_RETURN(auto selectors, attestor.Attest(caller));
  // The process could have exited and its pid been reused while we read /proc: check again.
  RETURN_IF_ERROR(CheckSameProcess(caller, proc_root));
  return selectors;
}

absl::StatusOr<CallerInfo> CallerFromPid(pid_t pid, const std::string& proc_root) {
  if (pid <= 0) return absl::InvalidArgumentError(absl::StrCat("invalid pid ", pid));
  CallerInfo info;
  info.pid = pid;
  auto start = ProcessStartTime(pid, proc_root);
  if (!start.ok()) return absl::NotFoundError(absl::StrCat("process ", pid, ": ", start.status().message()));
  info.start_time = *start;
  auto status = files::ReadFile(absl::StrCat(proc_root, "/", pid, "/status"));
  if (!status.ok()) return absl::NotFoundError(absl::StrCat("process ", pid, ": ", status.status().message()));
  absl::StatusOr<uint32_t> uid = EffectiveId(*status, "Uid:");
  absl::StatusOr<uint32_t> gid = EffectiveId(*status, "Gid:");
  if (!uid.ok()) return Annotate(uid, absl::StrCat("process ", pid));
  if (!gid.ok()) return Annotate(gid, absl::StrCat("process ", pid));
  info.uid = *uid;
  info.gid = *gid;
  // The executable is pinned now, as the Workload API does at accept: unix:path/sha256 then refuse a process that
  // execve-s into something else before attestation finishes (and one whose executable cannot be read).
  (void)RecordExecutable(info, proc_root);
  return info;
}

}  // namespace spirecvm::agent
