#include "loadgen/stats.h"

#include <algorithm>
#include <numeric>

namespace spirecvm::loadgen {

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return "CODE_" + std::to_string(code);
}

void RpcStats::Record(std::chrono::nanoseconds latency, int grpc_code) {
  const auto since = std::chrono::steady_clock::now() - origin_;
  std::lock_guard<std::mutex> l(mu_);
  latency_ns_.push_back(latency.count());
  second_.push_back(static_cast<int32_t>(std::chrono::duration_cast<std::chrono::seconds>(since).count()));
  ++codes_[grpc_code];
}

void RpcStats::AddItems(int64_t ok, int64_t failed) {
  std::lock_guard<std::mutex> l(mu_);
  items_ok_ += ok;
  items_failed_ += failed;
}

int64_t RpcStats::Count() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int64_t>(latency_ns_.size());
}

int64_t RpcStats::Failed() const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (const auto& [code, c] : codes_) n += code == 0 ? 0 : c;
  return n;
}

namespace {
// Nearest-rank percentile of a sorted, non-empty vector, in milliseconds.
double Percentile(const std::vector<int64_t>& sorted, double p) {
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1e6;
}
}  // namespace

nlohmann::json RpcStats::BySecond() const {
  std::map<int32_t, std::vector<int64_t>> by;
  for (size_t i = 0; i < latency_ns_.size(); ++i) by[second_[i]].push_back(latency_ns_[i]);
  nlohmann::json rows = nlohmann::json::array();
  for (auto& [sec, v] : by) {
    std::sort(v.begin(), v.end());
    rows.push_back({sec, v.size(), Percentile(v, 50), Percentile(v, 99), static_cast<double>(v.back()) / 1e6});
  }
  return rows;
}

RpcSummary RpcStats::Summarize() const {
  std::lock_guard<std::mutex> l(mu_);
  RpcSummary s;
  s.count = static_cast<int64_t>(latency_ns_.size());
  for (const auto& [code, c] : codes_) {
    if (code == 0) {
      s.ok = c;
    } else {
      s.errors[GrpcCodeName(code)] = c;
    }
  }
  s.items_ok = items_ok_;
  s.items_failed = items_failed_;
  if (latency_ns_.empty()) return s;
  s.by_second = BySecond();
  std::vector<int64_t> sorted = latency_ns_;
  std::sort(sorted.begin(), sorted.end());
  s.p50_ms = Percentile(sorted, 50);
  s.p90_ms = Percentile(sorted, 90);
  s.p99_ms = Percentile(sorted, 99);
  s.max_ms = static_cast<double>(sorted.back()) / 1e6;
  s.mean_ms = static_cast<double>(std::accumulate(sorted.begin(), sorted.end(), int64_t{0})) / 1e6 /
              static_cast<double>(sorted.size());
  return s;
}

nlohmann::json RpcSummary::ToJson(double wall_seconds) const {
  nlohmann::json j = {{"count", count},
                      {"ok", ok},
                      {"errors", errors},
                      {"items_ok", items_ok},
                      {"items_failed", items_failed},
                      {"p50_ms", p50_ms},
                      {"p90_ms", p90_ms},
                      {"p99_ms", p99_ms},
                      {"max_ms", max_ms},
                      {"mean_ms", mean_ms},
                      {"by_second", by_second}};
  j["ok_per_s"] = wall_seconds > 0 ? static_cast<double>(ok) / wall_seconds : 0.0;
  return j;
}

}  // namespace spirecvm::loadgen
