#include "loadgen/scheduler.h"

namespace spirecvm::loadgen {

Scheduler::Scheduler() : thread_([this] { Loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Scheduler::At(TimePoint t, std::function<void(TimePoint)> fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    q_.push(Item{t, seq_++, std::move(fn)});
  }
  cv_.notify_all();
}

size_t Scheduler::Pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return q_.size();
}

std::chrono::nanoseconds Scheduler::MaxLag() const {
  std::lock_guard<std::mutex> l(mu_);
  return max_lag_;
}

TimePoint Scheduler::MaxLagAt() const {
  std::lock_guard<std::mutex> l(mu_);
  return max_lag_at_;
}

int64_t Scheduler::LateOver100ms() const {
  std::lock_guard<std::mutex> l(mu_);
  return late_over_100ms_;
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (q_.empty()) {
      cv_.wait(l);
      continue;
    }
    const TimePoint due = q_.top().t;
    if (SteadyClock::now() < due) {
      cv_.wait_until(l, due);
      continue;
    }
    Item item = std::move(const_cast<Item&>(q_.top()));
    q_.pop();
    const auto lag = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - due);
    if (lag > max_lag_) {
      max_lag_ = lag;
      max_lag_at_ = due;
    }
    if (lag > std::chrono::milliseconds(100)) ++late_over_100ms_;
    l.unlock();
    item.fn(item.t);
    l.lock();
  }
}

}  // namespace spirecvm::loadgen
