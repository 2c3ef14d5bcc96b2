#include "common/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace spirecvm {
namespace {

TEST(RandomTest, DeterministicForASeed) {
  TestOnlyDeterministicRandom a(42), b(42), c(43);
  std::string first = a.Bytes(32);
  EXPECT_EQ(first, b.Bytes(32));
  EXPECT_NE(first, c.Bytes(32));
  EXPECT_NE(first, a.Bytes(32));
  EXPECT_EQ(a.Bytes(0), "");
}

TEST(RandomTest, SystemRandomFillsEveryByte) {
  std::string x = SystemRandom::Get().Bytes(64);
  EXPECT_EQ(x.size(), 64u);
  EXPECT_NE(x, SystemRandom::Get().Bytes(64));
}

// The contract of Random: concurrent calls are safe and each gets bytes of its own. For the deterministic source
// that means the chunks drawn by N threads are exactly the chunks one thread would draw, in some order.
TEST(RandomTest, DeterministicRandomIsSafeToShareBetweenThreads) {
  constexpr int kThreads = 4, kPerThread = 2000, kChunk = 8;
  TestOnlyDeterministicRandom shared(7);
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) got[t].push_back(shared.Bytes(kChunk));
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::string> concurrent, sequential;
  for (auto& g : got) concurrent.insert(concurrent.end(), g.begin(), g.end());
  TestOnlyDeterministicRandom alone(7);
  for (int i = 0; i < kThreads * kPerThread; ++i) sequential.push_back(alone.Bytes(kChunk));
  std::sort(concurrent.begin(), concurrent.end());
  std::sort(sequential.begin(), sequential.end());
  EXPECT_EQ(concurrent, sequential);
}

}  // namespace
}  // namespace spirecvm
