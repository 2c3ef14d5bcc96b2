#include "loadgen/proc.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace spirecvm::loadgen {
namespace {

absl::StatusOr<double> ReadCpu(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return absl::DataLossError(absl::StrCat(path, ": no ')' after the command"));
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  if (!rest) return absl::DataLossError(absl::StrCat(path, ": fewer than 15 fields"));
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

absl::StatusOr<ProcSample> ReadProc(pid_t pid) {
  ProcSample s;
  auto cpu = ReadCpu(pid);
  if (!cpu.ok()) return cpu.status();
  s.cpu_seconds = *cpu;
  const std::string path = absl::StrCat("/proc/", pid, "/status");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::string key;
  int64_t value = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (!(ls >> key >> value)) continue;
    if (key == "VmRSS:") s.rss_kib = value;
    if (key == "VmHWM:") s.hwm_kib = value;
    if (key == "Threads:") s.threads = value;
  }
  return s;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

int64_t DatastoreBytes(const std::string& path) {
  if (path.empty()) return 0;
  int64_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

}  // namespace spirecvm::loadgen
