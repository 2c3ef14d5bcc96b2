// Per-RPC outcome recording for the load generator: latency from the scheduled send time (open loop, so
// queueing shows), outcome by gRPC status code, and item counts for batch RPCs.
// Thread-safety: Record* may be called from any thread concurrently; Summarize after the phase has drained.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace spirecvm::loadgen {

struct RpcSummary {
  int64_t count = 0;
  int64_t ok = 0;
  std::map<std::string, int64_t> errors;  // gRPC code name -> count
  int64_t items_ok = 0;                   // BatchNewX509SVID: SVIDs signed; syncs: entries received
  int64_t items_failed = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  // One row per second of the phase in which calls completed: [second, calls, p50 ms, p99 ms, max ms].
  nlohmann::json by_second = nlohmann::json::array();
  nlohmann::json ToJson(double wall_seconds) const;
};

class RpcStats {
 public:
  // origin: the phase's start; completions are also counted by whole second since then.
  explicit RpcStats(std::chrono::steady_clock::time_point origin) : origin_(origin) {}
  RpcStats() : RpcStats(std::chrono::steady_clock::now()) {}
  // latency: completion (now) minus the time the call was scheduled to go out.
  void Record(std::chrono::nanoseconds latency, int grpc_code);
  void AddItems(int64_t ok, int64_t failed);
  int64_t Count() const;
  int64_t Failed() const;
  RpcSummary Summarize() const;

 private:
  nlohmann::json BySecond() const;  // mu_ held

  const std::chrono::steady_clock::time_point origin_;
  mutable std::mutex mu_;
  std::vector<int64_t> latency_ns_;
  std::vector<int32_t> second_;  // second_[i]: the phase second in which call i completed
  std::map<int, int64_t> codes_;
  int64_t items_ok_ = 0;
  int64_t items_failed_ = 0;
};

// "OK", "UNAVAILABLE", ... for a grpc::StatusCode value.
std::string GrpcCodeName(int code);

}  // namespace spirecvm::loadgen
