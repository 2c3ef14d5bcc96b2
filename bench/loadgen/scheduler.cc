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
    max_lag_ = std::max(max_lag_, std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - due));
    l.unlock();
    item.fn(item.t);
    l.lock();
  }
}

}  // namespace spirecvm::loadgen
