// WorkerPool under many submitting threads: every accepted task runs exactly once, refused ones never, Stop drains
// the queue (this suite also runs under ThreadSanitizer, `make test-tsan`).
#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace spirecvm {
namespace {

TEST(WorkerPoolTest, ConcurrentSubmittersEveryAcceptedTaskRunsOnce) {
  std::atomic<int> accepted{0}, ran{0};
  {
    WorkerPool pool(3, 64);
    std::vector<std::thread> submitters;
    for (int t = 0; t < 6; ++t) {
      submitters.emplace_back([&] {
        for (int i = 0; i < 300; ++i) {
          if (pool.Submit([&] { ++ran; })) ++accepted;
        }
      });
    }
    for (auto& t : submitters) t.join();
    pool.Stop();
    EXPECT_FALSE(pool.Submit([&] { ++ran; }));
  }
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(ran.load(), accepted.load());
}

TEST(WorkerPoolTest, TasksSeeWritesMadeBeforeSubmit) {
  WorkerPool pool(2);
  std::vector<int> data(100, 0);
  std::atomic<int> sum{0};
  for (int i = 0; i < 100; ++i) {
    data[i] = i;  // written by this thread, read by a worker: Submit must publish it
    ASSERT_TRUE(pool.Submit([&, i] { sum += data[i]; }));
  }
  pool.Stop();
  EXPECT_EQ(sum.load(), 4950);
}

}  // namespace
}  // namespace spirecvm
