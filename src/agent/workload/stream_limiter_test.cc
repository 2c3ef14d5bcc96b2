// StreamLimiter: the per-uid bound, and its counts under many threads acquiring and releasing at once (this suite
// also runs under ThreadSanitizer, `make test-tsan`).
#include "agent/workload/stream_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace spirecvm::agent {
namespace {

TEST(StreamLimiterTest, BoundsEachUidSeparately) {
  StreamLimiter l(2);
  EXPECT_TRUE(l.Acquire(1));
  EXPECT_TRUE(l.Acquire(1));
  EXPECT_FALSE(l.Acquire(1));
  EXPECT_TRUE(l.Acquire(2));
  l.Release(1);
  EXPECT_TRUE(l.Acquire(1));
  EXPECT_EQ(l.InUse(1), 2u);
  EXPECT_EQ(l.InUse(2), 1u);
  l.Release(3);  // never acquired: ignored
  EXPECT_EQ(l.InUse(3), 0u);
}

TEST(StreamLimiterTest, ConcurrentAcquireNeverExceedsTheBound) {
  constexpr size_t kMax = 4;
  StreamLimiter l(kMax);
  std::atomic<int> held{0}, peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (!l.Acquire(7)) continue;
        int now = ++held;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        --held;
        l.Release(7);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), static_cast<int>(kMax));
  EXPECT_EQ(l.InUse(7), 0u);
}

}  // namespace
}  // namespace spirecvm::agent
