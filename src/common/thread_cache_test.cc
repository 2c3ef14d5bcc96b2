#include "common/thread_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>

namespace spirecvm {
namespace {

TEST(ThreadCacheTest, TasksThatBlockTogetherEachGetAThread) {
  ThreadCache pool;
  std::latch all_started(3);
  std::latch release(1);
  for (int i = 0; i < 3; ++i) {
    pool.Run([&] {
      all_started.count_down();
      release.wait();  // would deadlock if a task waited behind another
    });
  }
  all_started.wait();
  EXPECT_EQ(pool.Threads(), 3u);
  release.count_down();
}

TEST(ThreadCacheTest, ReusesIdleThreads) {
  ThreadCache pool;
  for (int i = 0; i < 20; ++i) {
    std::latch done(1);
    pool.Run([&] { done.count_down(); });
    done.wait();
    while (pool.Idle() != 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pool.Threads(), 1u);
}

TEST(ThreadCacheTest, DestructorWaitsForRunningTasks) {
  std::atomic<int> finished{0};
  {
    ThreadCache pool;
    for (int i = 0; i < 4; ++i) {
      pool.Run([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        finished++;
      });
    }
  }
  EXPECT_EQ(finished.load(), 4);
}

}  // namespace
}  // namespace spirecvm
