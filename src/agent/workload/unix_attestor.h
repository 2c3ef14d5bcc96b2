// WorkloadAttestor "unix": unix:uid, unix:gid (from SO_PEERCRED), unix:user, unix:group (names, when they resolve),
// unix:supplementary_gid and unix:supplementary_group (/proc/<pid>/status Groups), and with
// discover_workload_path: unix:path (/proc/<pid>/exe) and unix:sha256 (of the executable, streamed, size-bounded).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "agent/config/agent_config.h"
#include "agent/workload/workload_attestor.h"

namespace spirecvm::agent {

class UnixAttestor final : public WorkloadAttestor {
 public:
  // Name lookups are injectable (tests); by default getpwuid_r/getgrgid_r.
  using NameLookup = std::function<std::optional<std::string>(uint32_t)>;
  UnixAttestor(UnixAttestorConfig config, std::string proc_root = "/proc", NameLookup user_name = nullptr,
               NameLookup group_name = nullptr);

  std::string name() const override { return "unix"; }
  absl::StatusOr<std::vector<std::string>> Attest(const CallerInfo& caller) override;

 private:
  absl::StatusOr<std::string> HashExecutable(const std::string& exe_link);

  UnixAttestorConfig config_;
  std::string proc_root_;
  NameLookup user_name_;
  NameLookup group_name_;
  // sha256 by (dev, inode, size, mtime): hashing a large binary once per call would make fetches slow.
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::string> hash_cache_;
};

}  // namespace spirecvm::agent
