// One measured phase of a load run (attest, sync, svid, renew): its RPC statistics, the calls still in flight,
// and the resources the server and this process used between Begin() and End().
// Thread-safety: Rpc(), the in-flight counter and Outstanding() may be used from any thread; Begin/End/ToJson
// from the driving thread only.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "loadgen/proc.h"
#include "loadgen/scheduler.h"
#include "loadgen/stats.h"
#include "nlohmann/json.hpp"

namespace spirecvm::loadgen {

class Phase {
 public:
  Phase(std::string name, pid_t server_pid) : name_(std::move(name)), server_pid_(server_pid) {}

  const std::string& name() const { return name_; }
  RpcStats& Rpc(const std::string& rpc);  // created on first use; the reference stays valid

  void Started() { inflight_.fetch_add(1); }
  void Finished() { inflight_.fetch_sub(1); }
  int64_t InFlight() const { return inflight_.load(); }
  int64_t Completed() const;
  int64_t Failed() const;

  void Begin();
  void End();  // after the calls have drained
  double WallSeconds() const;
  double ServerCpuSeconds() const { return server_end_.cpu_seconds - server_begin_.cpu_seconds; }
  const ProcSample& ServerAtEnd() const { return server_end_; }
  nlohmann::json ToJson() const;

 private:
  std::string name_;
  pid_t server_pid_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<RpcStats>> rpcs_;
  std::atomic<int64_t> inflight_{0};
  TimePoint begin_{}, end_{};
  ProcSample server_begin_{}, server_end_{};
  double self_cpu_begin_ = 0, self_cpu_end_ = 0;
};

}  // namespace spirecvm::loadgen
