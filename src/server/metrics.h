// Server counters, exposed in the Prometheus text format by the optional telemetry listener.
// Counters are plain atomics: incrementing one costs a relaxed atomic add on the hot path.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace spirecvm::server {

struct Metrics {
  std::atomic<uint64_t> attestations_ok{0};
  std::atomic<uint64_t> attestations_failed{0};
  std::atomic<uint64_t> x509_svids_minted{0};
  std::atomic<uint64_t> jwt_svids_minted{0};
  std::atomic<uint64_t> agent_auth_failures{0};
  std::atomic<uint64_t> entry_cache_refreshes{0};

  // Gauges are read at scrape time by the caller and passed in.
  std::string Render(int64_t entries, int64_t agents, size_t cached_entries) const;
};

}  // namespace spirecvm::server
