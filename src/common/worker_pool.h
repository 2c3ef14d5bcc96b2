// A small fixed pool for the blocking work behind gRPC callback-API calls, so gRPC's few callback threads never
// block and a call costs no thread while it waits: on the agent, the Workload API's (reading /proc, hashing
// executables, minting JWT-SVIDs at the server); on the server, the agent API's datastore writes (RenewAgent, the
// admin methods). The queue is bounded: when it is full, Submit refuses the task and the caller answers
// RESOURCE_EXHAUSTED. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spirecvm {

class WorkerPool {
 public:
  static constexpr size_t kDefaultMaxQueue = 1024;
  explicit WorkerPool(size_t threads, size_t max_queue = kDefaultMaxQueue) : max_queue_(max_queue) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and fn dropped, not run) when max_queue tasks are already waiting or the pool is stopping.
  [[nodiscard]] bool Submit(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_ || queue_.size() >= max_queue_) return false;
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
    return true;
  }
  // Runs what is queued, then joins.
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  const size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace spirecvm
