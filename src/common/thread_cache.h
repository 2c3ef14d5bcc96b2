// Runs tasks that may block for a while (an attestation waits for its agent's answers) each on its own thread,
// reusing threads: a task goes to an idle thread when one is waiting, else a new thread is started for it. A task
// therefore never waits behind another, and the pool never has more threads than the most tasks that ran at once,
// which the caller bounds (AttestCalls: max_concurrent_attestations). Idle threads are kept until the pool is
// destroyed; each costs its stack's touched pages (tens of KB).
// Thread-safety: Run may be called from any thread. The destructor waits for the running tasks and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spirecvm {

class ThreadCache {
 public:
  ThreadCache() = default;
  ~ThreadCache();
  ThreadCache(const ThreadCache&) = delete;
  ThreadCache& operator=(const ThreadCache&) = delete;

  void Run(std::function<void()> task);
  // Threads started so far, and those waiting for a task (for tests and metrics).
  size_t Threads() const;
  size_t Idle() const;

 private:
  void Loop(std::function<void()> task);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // never longer than idle_: each queued task has a waiting thread
  size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace spirecvm
