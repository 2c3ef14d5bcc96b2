#include "common/thread_cache.h"

namespace spirecvm {

ThreadCache::~ThreadCache() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadCache::Run(std::function<void()> task) {
  std::lock_guard<std::mutex> l(mu_);
  if (idle_ > queue_.size()) {
    queue_.push_back(std::move(task));
    cv_.notify_one();
    return;
  }
  threads_.emplace_back([this, t = std::move(task)]() mutable { Loop(std::move(t)); });
}

size_t ThreadCache::Threads() const {
  std::lock_guard<std::mutex> l(mu_);
  return threads_.size();
}

size_t ThreadCache::Idle() const {
  std::lock_guard<std::mutex> l(mu_);
  return idle_;
}

void ThreadCache::Loop(std::function<void()> task) {
  for (;;) {
    task();
    task = nullptr;  // its captures are released before the thread waits
    std::unique_lock<std::mutex> l(mu_);
    ++idle_;
    cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping
    task = std::move(queue_.front());
    queue_.pop_front();
  }
}

}  // namespace spirecvm
