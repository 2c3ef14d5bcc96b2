#include "loadgen/stats.h"

#include <gtest/gtest.h>

namespace spirecvm::loadgen {
namespace {

using std::chrono::milliseconds;

TEST(RpcStatsTest, PercentilesAndCodes) {
  RpcStats s;
  for (int i = 1; i <= 100; ++i) s.Record(milliseconds(i), i == 100 ? 14 : 0);  // the slowest call UNAVAILABLE
  const RpcSummary r = s.Summarize();
  EXPECT_EQ(r.count, 100);
  EXPECT_EQ(r.ok, 99);
  EXPECT_EQ(r.errors.at("UNAVAILABLE"), 1);
  EXPECT_DOUBLE_EQ(r.p50_ms, 50);
  EXPECT_DOUBLE_EQ(r.p90_ms, 90);
  EXPECT_DOUBLE_EQ(r.p99_ms, 99);
  EXPECT_DOUBLE_EQ(r.max_ms, 100);
}

TEST(RpcStatsTest, BySecondGroupsCallsByTheSecondTheyCompletedIn) {
  // An origin 2.5 s ago: calls recorded now complete in second 2 of the phase.
  RpcStats s(std::chrono::steady_clock::now() - milliseconds(2500));
  s.Record(milliseconds(3), 0);
  s.Record(milliseconds(1), 0);
  s.Record(milliseconds(700), 0);
  const nlohmann::json rows = s.Summarize().by_second;
  ASSERT_EQ(rows.size(), 1u) << rows.dump();
  EXPECT_EQ(rows[0][0], 2);
  EXPECT_EQ(rows[0][1], 3);
  EXPECT_DOUBLE_EQ(rows[0][2].get<double>(), 3);    // p50
  EXPECT_DOUBLE_EQ(rows[0][3].get<double>(), 700);  // p99
  EXPECT_DOUBLE_EQ(rows[0][4].get<double>(), 700);  // max
}

TEST(RpcStatsTest, BySecondIsEmptyWithoutCalls) { EXPECT_TRUE(RpcStats().Summarize().by_second.empty()); }

}  // namespace
}  // namespace spirecvm::loadgen
