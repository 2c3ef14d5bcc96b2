// One thread that runs callbacks at given times (the open-loop clock of the load generator). Callbacks must not
// block: they start asynchronous RPCs. A callback that runs late still reports its *scheduled* time to the RPC,
// so scheduler lag counts as latency rather than hiding it.
// Thread-safety: At() may be called from any thread, including from callbacks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace spirecvm::loadgen {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // drops callbacks that have not run
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs fn(t) at (or as soon as possible after) t.
  void At(TimePoint t, std::function<void(TimePoint)> fn);
  // Callbacks waiting to run.
  size_t Pending() const;
  // Worst lateness seen (time a callback ran minus its scheduled time).
  std::chrono::nanoseconds MaxLag() const;
  // When the worst lateness happened, and how many callbacks ran more than 100 ms late.
  TimePoint MaxLagAt() const;
  int64_t LateOver100ms() const;

 private:
  struct Item {
    TimePoint t;
    uint64_t seq;
    std::function<void(TimePoint)> fn;
    bool operator>(const Item& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> q_;
  uint64_t seq_ = 0;
  bool stop_ = false;
  std::chrono::nanoseconds max_lag_{0};
  TimePoint max_lag_at_{};
  int64_t late_over_100ms_ = 0;
  std::thread thread_;
};

}  // namespace spirecvm::loadgen
