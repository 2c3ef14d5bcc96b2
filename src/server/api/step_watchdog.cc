#include "server/api/step_watchdog.h"

#include <vector>

namespace spirecvm::server {

StepWatchdog::StepWatchdog(const Clock& clock, absl::Duration poll) : clock_(clock), poll_(poll) {
  thread_ = std::thread([this] { Loop(); });
}

StepWatchdog::~StepWatchdog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t StepWatchdog::Arm(std::function<void()> on_expiry, absl::Time deadline) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_id_++;
  armed_[id] = {std::move(on_expiry), deadline};
  return id;
}

void StepWatchdog::Disarm(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  armed_.erase(id);
}

int StepWatchdog::CancelExpired() {
  const absl::Time now = clock_.Now();
  std::vector<std::function<void()>> expired;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = armed_.begin(); it != armed_.end();) {
      if (now > it->second.second) {
        expired.push_back(std::move(it->second.first));
        it = armed_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Outside the lock: an action may lead (even synchronously) to Arm/Disarm.
  for (auto& action : expired) action();
  return static_cast<int>(expired.size());
}

size_t StepWatchdog::armed() const {
  std::lock_guard<std::mutex> l(mu_);
  return armed_.size();
}

void StepWatchdog::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, absl::ToChronoMilliseconds(poll_));
    if (stopping_) return;
    l.unlock();
    CancelExpired();
    l.lock();
  }
}

}  // namespace spirecvm::server
