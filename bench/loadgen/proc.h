// Resource figures of a process from /proc (the server under test) and of this process (getrusage).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace spirecvm::loadgen {

struct ProcSample {
  double cpu_seconds = 0;  // utime + stime of /proc/<pid>/stat
  int64_t rss_kib = 0;     // VmRSS of /proc/<pid>/status
  int64_t hwm_kib = 0;     // VmHWM (peak RSS)
  int64_t threads = 0;     // Threads
};

// Errors name the pid and the file when the process is gone or the file is not as expected.
absl::StatusOr<ProcSample> ReadProc(pid_t pid);

// CPU seconds (user + system) this process has used.
double SelfCpuSeconds();

// Bytes of a SQLite database with its -wal and -shm files (those that exist); 0 when path is empty.
int64_t DatastoreBytes(const std::string& path);

}  // namespace spirecvm::loadgen
