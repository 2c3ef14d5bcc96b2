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
  nlohmann::json ToJson(double wall_seconds) const;
};

class RpcStats {
 public:
  // latency: completion minus the time the call was scheduled to go out.
  void Record(std::chrono::nanoseconds latency, int grpc_code);
  void AddItems(int64_t ok, int64_t failed);
  int64_t Count() const;
  int64_t Failed() const;
  RpcSummary Summarize() const;

 private:
  mutable std::mutex mu_;
  std::vector<int64_t> latency_ns_;
  std::map<int, int64_t> codes_;
  int64_t items_ok_ = 0;
  int64_t items_failed_ = 0;
};

// "OK", "UNAVAILABLE", ... for a grpc::StatusCode value.
std::string GrpcCodeName(int code);

}  // namespace spirecvm::loadgen
