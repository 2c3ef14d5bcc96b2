// Counters and gauges served in the Prometheus text format by the telemetry listener, named as SPIRE's
// go-metrics Prometheus sink names SPIRE's metrics: `<service>_<key parts joined by _>`, e.g.
// spire_agent_agent_svid_rotate, with call counters labelled status="<gRPC code name>" (Go's codes.Code names:
// OK, PermissionDenied, ...), so dashboards built for SPIRE read ours.
// Thread-safety: every method may be called from any thread; Render() runs on the listener's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace spirecvm::telemetry {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Go's codes.Code.String() for a gRPC (or absl, same numbering) status code: SPIRE's `status` label.
std::string_view StatusLabel(int code);

class Registry {
 public:
  // `service` prefixes every name: "spire_server" or "spire_agent".
  explicit Registry(std::string service) : service_(std::move(service)) {}

  // Adds `n` to counter `<service>_<key>{labels}`; `help` is kept from the first call that gives one.
  void Add(std::string_view key, const Labels& labels = {}, uint64_t n = 1, std::string_view help = "");
  // A call counter as SPIRE's: `<service>_<key>{status="<code>"}` for one finished call.
  void CountCall(std::string_view key, const absl::Status& result, std::string_view help = "");
  // A gauge whose value is read at scrape time (`read` runs on the listener's thread).
  void Gauge(std::string_view key, std::string_view help, std::function<int64_t()> read);

  // The counter's value (0 when never incremented); for tests and the agent's own checks.
  uint64_t Value(std::string_view key, const Labels& labels = {}) const;
  // Every metric, sorted by name, in the Prometheus text exposition format (version 0.0.4).
  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::map<std::string, uint64_t> series;  // rendered label set ("" or {a="b"}) -> value
    std::function<int64_t()> gauge;          // set for gauges
  };
  std::string Name(std::string_view key) const;

  const std::string service_;
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // by full name
};

}  // namespace spirecvm::telemetry
