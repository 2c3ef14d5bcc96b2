#include "wlgen/rotation.h"

#include "gtest/gtest.h"

namespace spirecvm::wlgen {
namespace {

using Clock = RotationTracker::Clock;
const Clock::time_point kT0{};

Clock::time_point At(int ms) { return kT0 + std::chrono::milliseconds(ms); }

TEST(WlgenFingerprintTest, DependsOnEveryByte) {
  EXPECT_EQ(FingerprintOf("der-a"), FingerprintOf("der-a"));
  EXPECT_NE(FingerprintOf("der-a"), FingerprintOf("der-b"));
  EXPECT_NE(FingerprintOf(""), FingerprintOf(std::string_view("\0", 1)));
}

TEST(WlgenRotationTest, NoRotationUntilADifferentSvidArrives) {
  RotationTracker t(2);
  t.OnSvid(0, 1, At(0));
  t.OnSvid(1, 1, At(1));
  t.OnSvid(0, 1, At(5));  // the same SVID pushed again (a bundle update): not a rotation
  const RotationSummary s = t.Summarize();
  EXPECT_FALSE(s.seen);
  EXPECT_EQ(s.watchers, 2);
  EXPECT_EQ(s.distinct_initial, 1);
  EXPECT_EQ(s.missing, 2);
  EXPECT_FALSE(t.Complete());
}

TEST(WlgenRotationTest, FanOutIsLastMinusFirstArrivalOfTheNewSvid) {
  RotationTracker t(3);
  for (size_t i = 0; i < 3; ++i) t.OnSvid(i, 7, At(0));
  t.OnSvid(1, 8, At(1000));
  EXPECT_FALSE(t.Complete());
  t.OnSvid(0, 8, At(1040));
  t.OnSvid(2, 8, At(1250));
  const RotationSummary s = t.Summarize();
  EXPECT_TRUE(s.seen);
  EXPECT_EQ(s.rotated, 3);
  EXPECT_EQ(s.missing, 0);
  EXPECT_DOUBLE_EQ(s.fanout_ms, 250);
  EXPECT_TRUE(t.Complete());
}

TEST(WlgenRotationTest, AWatcherOpenedAfterTheRotationHoldsTheNewSvidButIsNotFanOut) {
  RotationTracker t(3);
  t.OnSvid(0, 7, At(0));
  t.OnSvid(1, 7, At(0));
  t.OnSvid(2, 8, At(10));  // opened after the agent rotated
  t.OnSvid(0, 8, At(100));
  RotationSummary s = t.Summarize();
  EXPECT_EQ(s.distinct_initial, 2);
  EXPECT_EQ(s.rotated, 1);
  EXPECT_EQ(s.born_with_new, 1);
  EXPECT_EQ(s.missing, 1);
  EXPECT_FALSE(t.Complete());
  t.OnSvid(1, 8, At(300));
  s = t.Summarize();
  EXPECT_EQ(s.missing, 0);
  EXPECT_DOUBLE_EQ(s.fanout_ms, 200);
  EXPECT_TRUE(t.Complete());
}

TEST(WlgenRotationTest, WatchersWithoutAFirstResponseAreNotWaitedFor) {
  RotationTracker t(3);
  t.OnSvid(0, 7, At(0));
  t.OnSvid(0, 8, At(50));
  t.OnSvid(9, 8, At(60));  // out of range: ignored
  const RotationSummary s = t.Summarize();
  EXPECT_EQ(s.watchers, 1);
  EXPECT_TRUE(t.Complete());
}

TEST(WlgenRotationTest, ASecondArrivalOfTheNewSvidKeepsTheFirstTime) {
  RotationTracker t(2);
  t.OnSvid(0, 7, At(0));
  t.OnSvid(1, 7, At(0));
  t.OnSvid(0, 8, At(10));
  t.OnSvid(0, 9, At(20));  // a further rotation on watcher 0
  t.OnSvid(0, 8, At(30));  // and the new SVID again: its first arrival counts
  t.OnSvid(1, 8, At(40));
  EXPECT_DOUBLE_EQ(t.Summarize().fanout_ms, 30);
}

}  // namespace
}  // namespace spirecvm::wlgen
