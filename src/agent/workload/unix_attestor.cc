#include "agent/workload/unix_attestor.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/encoding.h"
#include "common/fd.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::agent {
namespace {

std::optional<std::string> LookupUser(uint32_t uid) {
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* out = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) != 0 || out == nullptr) return std::nullopt;
  return std::string(out->pw_name);
}

std::optional<std::string> LookupGroup(uint32_t gid) {
  std::vector<char> buf(65536);
  struct group gr;
  struct group* out = nullptr;
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &out) != 0 || out == nullptr) return std::nullopt;
  return std::string(out->gr_name);
}

}  // namespace

UnixAttestor::UnixAttestor(UnixAttestorConfig config, std::string proc_root, NameLookup user_name,
                           NameLookup group_name, const Clock* clock)
    : config_(config),
      proc_root_(std::move(proc_root)),
      user_name_(user_name ? std::move(user_name) : NameLookup(LookupUser)),
      group_name_(group_name ? std::move(group_name) : NameLookup(LookupGroup)),
      clock_(clock != nullptr ? clock : &RealClock::Get()) {}

absl::StatusOr<std::vector<std::string>> UnixAttestor::Attest(const CallerInfo& caller) {
  if (caller.pid <= 0) {
    return absl::PermissionDeniedError("caller's pid is not visible to the agent (other pid namespace?)");
  }
  std::vector<std::string> out;
  out.push_back(absl::StrCat("unix:uid:", caller.uid));
  if (auto n = user_name_(caller.uid)) out.push_back(absl::StrCat("unix:user:", *n));
  out.push_back(absl::StrCat("unix:gid:", caller.gid));
  if (auto n = group_name_(caller.gid)) out.push_back(absl::StrCat("unix:group:", *n));

  const std::string dir = absl::StrCat(proc_root_, "/", caller.pid);
  RETURN_IF_ERROR(AddSupplementaryGroups(caller, dir, out));
  if (config_.discover_workload_path) RETURN_IF_ERROR(AddWorkloadPath(caller, dir, out));
  return out;
}

absl::Status UnixAttestor::AddSupplementaryGroups(const CallerInfo& caller, const std::string& dir,
                                                  std::vector<std::string>& out) {
  auto status = files::ReadFile(dir + "/status");
  if (!status.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("workload process ", caller.pid, " is gone: ", status.status().message()));
  }
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "Groups:")) continue;
    for (absl::string_view g : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      uint32_t gid;
      if (!absl::SimpleAtoi(g, &gid)) continue;
      out.push_back(absl::StrCat("unix:supplementary_gid:", gid));
      if (auto n = group_name_(gid)) out.push_back(absl::StrCat("unix:supplementary_group:", *n));
    }
  }
  return absl::OkStatus();
}

namespace {

bool SameFile(const struct stat& a, uint64_t dev, uint64_t ino) { return a.st_dev == dev && a.st_ino == ino; }

}  // namespace

absl::Status UnixAttestor::AddWorkloadPath(const CallerInfo& caller, const std::string& dir,
                                           std::vector<std::string>& out) {
  const std::string exe = dir + "/exe";
  // Opening /proc/<pid>/exe yields the very file the process runs, even if the path was replaced since.
  Fd fd(::open(exe.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return absl::PermissionDeniedError(absl::StrCat("open ", exe, ": ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return absl::InternalError(absl::StrCat("stat ", exe, ": ", std::strerror(errno)));
  const auto execed = [&] {
    return absl::PermissionDeniedError(absl::StrCat("workload process ", caller.pid,
                                                    " runs another executable than when it connected (execve after "
                                                    "connect): refusing unix:path/unix:sha256"));
  };
  if (!caller.exe_known) {
    return absl::PermissionDeniedError(absl::StrCat("the executable of workload process ", caller.pid,
                                                    " could not be read when it connected: refusing unix:path"));
  }
  if (!SameFile(st, caller.exe_dev, caller.exe_ino)) return execed();
  std::vector<char> buf(4096);
  ssize_t n = ::readlink(exe.c_str(), buf.data(), buf.size());
  if (n < 0) return absl::PermissionDeniedError(absl::StrCat("cannot read ", exe, ": ", std::strerror(errno)));
  std::optional<std::string> hash;
  if (config_.workload_size_limit >= 0) {
    ASSIGN_OR_RETURN(hash, HashExecutable(fd.get(), st, exe));
  }
  // The process may have execve()d while we read: the link must still resolve to the file we hashed.
  struct stat again;
  if (::stat(exe.c_str(), &again) != 0 || !SameFile(again, st.st_dev, st.st_ino)) return execed();
  out.push_back(absl::StrCat("unix:path:", absl::string_view(buf.data(), static_cast<size_t>(n))));
  if (hash.has_value()) out.push_back(absl::StrCat("unix:sha256:", *hash));
  return absl::OkStatus();
}

absl::StatusOr<std::string> UnixAttestor::HashExecutable(int fd, const struct stat& st, const std::string& exe_link) {
  if (config_.workload_size_limit > 0 && st.st_size > config_.workload_size_limit) {
    return absl::PermissionDeniedError(absl::StrCat("workload binary is ", st.st_size,
                                                    " bytes, over workload_size_limit ", config_.workload_size_limit));
  }
  std::string key = absl::StrCat(st.st_dev, ":", st.st_ino, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                                 st.st_mtim.tv_nsec, ":", st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = hash_cache_.find(key); it != hash_cache_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::string hex, HashFd(fd, exe_link));
  std::lock_guard<std::mutex> l(mu_);
  if (hash_cache_.size() > 1024) hash_cache_.clear();
  hash_cache_[key] = hex;
  return hex;
}

absl::StatusOr<std::string> UnixAttestor::HashFd(int fd, const std::string& exe_link) {
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return absl::InternalError("sha256 init failed");
  const absl::Time deadline = clock_->Now() + config_.hash_timeout;
  std::vector<char> buf(1 << 16);
  int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("read ", exe_link, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    total += n;
    if (config_.workload_size_limit > 0 && total > config_.workload_size_limit) {
      return absl::PermissionDeniedError("workload binary grew over workload_size_limit while hashing");
    }
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    if (clock_->Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("hashing ", exe_link, " took longer than hash_timeout ",
                                                      absl::FormatDuration(config_.hash_timeout)));
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

UnixAttestorConfig ParseUnixAttestorConfig(config::Section& plugin_data) {
  UnixAttestorConfig c;
  if (auto v = plugin_data.Bool("discover_workload_path")) c.discover_workload_path = *v;
  if (auto v = plugin_data.Int("workload_size_limit")) c.workload_size_limit = *v;
  if (auto v = plugin_data.Duration("workload_hash_timeout")) c.hash_timeout = *v;
  return c;
}

absl::StatusOr<std::unique_ptr<WorkloadAttestor>> BuildUnixAttestor(const UnixAttestorConfig& config,
                                                                    const WorkloadAttestorDeps& deps) {
  return std::unique_ptr<WorkloadAttestor>(new UnixAttestor(config, deps.proc_root));
}

}  // namespace spirecvm::agent
