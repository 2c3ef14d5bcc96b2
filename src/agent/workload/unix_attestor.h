// WorkloadAttestor "unix": unix:uid, unix:gid (from SO_PEERCRED), unix:user, unix:group (names, when they resolve),
// unix:supplementary_gid and unix:supplementary_group (/proc/<pid>/status Groups), and with
// discover_workload_path: unix:path (/proc/<pid>/exe) and unix:sha256 (of the executable, streamed, size-bounded).
//
// unix:path and unix:sha256 say which file the process runs, not who runs it: a process may execve() a trusted
// binary and keep (or pass on) the connection. The executable seen at attestation must be the one seen at accept
// (CallerInfo.exe_*), and must not change while it is hashed; still, register path/sha256 only together with
// unix:uid (or unix:gid), which the kernel reports at connect and an execve cannot change (setuid binaries aside).
#pragma once

#include <sys/stat.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "agent/workload/workload_attestor.h"
#include "common/clock.h"
#include "common/config_reader.h"

namespace spirecvm::agent {

// plugin_data of WorkloadAttestor "unix".
struct UnixAttestorConfig {
  bool discover_workload_path = false;
  // SPIRE semantics: 0 = no limit, negative = never hash.
  int64_t workload_size_limit = 0;
  // Hashing that takes longer is abandoned and the call refused (a huge or slow executable must not hold a worker).
  absl::Duration hash_timeout = absl::Seconds(30);
};

// Thread-safety: Attest may run on every worker at once (WorkloadAttestor's contract): the configuration is
// immutable, the hash cache is under a mutex, name lookups use the reentrant getpwuid_r/getgrgid_r, and injected
// lookups must be thread-safe too.
class UnixAttestor final : public WorkloadAttestor {
 public:
  // Name lookups are injectable (tests); by default getpwuid_r/getgrgid_r.
  using NameLookup = std::function<std::optional<std::string>(uint32_t)>;
  UnixAttestor(UnixAttestorConfig config, std::string proc_root = "/proc", NameLookup user_name = nullptr,
               NameLookup group_name = nullptr, const Clock* clock = nullptr);

  std::string name() const override { return "unix"; }
  absl::StatusOr<std::vector<std::string>> Attest(const CallerInfo& caller) override;
  const UnixAttestorConfig& config() const { return config_; }

 private:
  // unix:supplementary_gid / unix:supplementary_group from <proc>/<pid>/status.
  absl::Status AddSupplementaryGroups(const CallerInfo& caller, const std::string& dir, std::vector<std::string>& out);
  // unix:path and (unless workload_size_limit < 0) unix:sha256 from <proc>/<pid>/exe.
  // Refused when the executable is not the one recorded at accept, or changes while it is hashed.
  absl::Status AddWorkloadPath(const CallerInfo& caller, const std::string& dir, std::vector<std::string>& out);
  // sha256 of the open executable `fd` (fstat-ed as `st`), through the cache.
  absl::StatusOr<std::string> HashExecutable(int fd, const struct stat& st, const std::string& exe_link);
  absl::StatusOr<std::string> HashFd(int fd, const std::string& exe_link);

  const UnixAttestorConfig config_;
  const std::string proc_root_;
  const NameLookup user_name_;
  const NameLookup group_name_;
  const Clock* clock_;
  // sha256 by (dev, inode, size, mtime, ctime): hashing a large binary once per call would make fetches slow. ctime
  // is in the key because the owner can set mtime back after rewriting the file, but not ctime.
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::string> hash_cache_;
};

UnixAttestorConfig ParseUnixAttestorConfig(config::Section& plugin_data);
absl::StatusOr<std::unique_ptr<WorkloadAttestor>> BuildUnixAttestor(const UnixAttestorConfig& config,
                                                                    const WorkloadAttestorDeps& deps);

}  // namespace spirecvm::agent
