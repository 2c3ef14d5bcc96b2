// Rotation fan-out of the watch phase: which X509-SVID each watcher holds, when the first watcher saw a new one and
// when the last did. An SVID is identified by a fingerprint of its DER chain (x509_svid of the first SVID of a
// response), so a response that repeats the SVID a watcher already holds (a bundle push, say) is not a rotation.
//
// The new SVID is the first fingerprint any watcher receives in place of a different one. A watcher has it when it
// received it as such an update (counted in `rotated`, the fan-out) or as its very first response (it opened after
// the rotation: `born_with_new`, not part of the fan-out). Complete() once every watcher that got a first response
// has it.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace spirecvm::wlgen {

using Fingerprint = uint64_t;
Fingerprint FingerprintOf(std::string_view der);

struct RotationSummary {
  int64_t watchers = 0;          // that got a first response
  int64_t distinct_initial = 0;  // different SVIDs among the first responses (1 unless a rotation overlapped)
  int64_t rotated = 0;           // received the new SVID as an update
  int64_t born_with_new = 0;     // received the new SVID as their first response
  int64_t missing = 0;           // do not hold the new SVID (all of them while no rotation has been seen)
  bool seen = false;             // some watcher received a different SVID
  double fanout_ms = 0;          // last minus first arrival of the new SVID as an update
  nlohmann::json ToJson() const;
};

class RotationTracker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RotationTracker(size_t watchers);

  // A response on watcher i's stream at time t (its first or a later one).
  void OnSvid(size_t i, Fingerprint fp, Clock::time_point t);
  RotationSummary Summarize() const;
  bool Complete() const;

 private:
  struct Slot {
    bool has_first = false;
    Fingerprint first = 0;
    Fingerprint current = 0;
    std::optional<Clock::time_point> got_new;  // when the new SVID arrived as an update
  };
  RotationSummary SummarizeLocked() const;

  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  std::optional<Fingerprint> new_;
};

}  // namespace spirecvm::wlgen
