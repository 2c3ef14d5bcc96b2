// Cancels gRPC calls whose current step has passed its deadline: an agent API stream that stops talking (during
// attestation, before or between messages) is dropped instead of being held open forever. One thread for all calls.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "common/clock.h"

namespace spirecvm::server {

// Thread-safe. Arm/Disarm from any thread; on expiry the watchdog runs the armed action on its thread, outside its
// lock. An action may still run shortly after its Disarm returned: it must check that its target is alive
// (attest_reactor.cc guards the call's context with a CancelToken).
class StepWatchdog {
 public:
  // `poll`: how often the thread looks at the deadlines (they are checked against `clock`).
  explicit StepWatchdog(const Clock& clock, absl::Duration poll = absl::Milliseconds(200));
  ~StepWatchdog();
  StepWatchdog(const StepWatchdog&) = delete;
  StepWatchdog& operator=(const StepWatchdog&) = delete;

  // Runs `on_expiry` once `deadline` has passed, unless disarmed first. Returns the id to disarm with.
  uint64_t Arm(std::function<void()> on_expiry, absl::Time deadline);
  // Forgets the action (unless it has just been taken to run).
  void Disarm(uint64_t id);
  // Cancels what has expired at clock.Now() (the thread calls it; tests may too). Returns how many were cancelled.
  int CancelExpired();
  size_t armed() const;

 private:
  void Loop();

  const Clock& clock_;
  const absl::Duration poll_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::pair<std::function<void()>, absl::Time>> armed_;
  std::thread thread_;
};

}  // namespace spirecvm::server
