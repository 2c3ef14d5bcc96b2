#include "common/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm {
namespace {

using ::testing::HasSubstr;

TEST(DurationTest, Parse) {
  EXPECT_EQ(*ParseGoDuration("1h"), absl::Hours(1));
  EXPECT_EQ(*ParseGoDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("300ms"), absl::Milliseconds(300));
  EXPECT_EQ(*ParseGoDuration("24h"), absl::Hours(24));
  EXPECT_EQ(*ParseGoDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseGoDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration(".5s"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseGoDuration("1us"), absl::Microseconds(1));
  EXPECT_EQ(*ParseGoDuration("1\xC2\xB5s"), absl::Microseconds(1));
  EXPECT_EQ(*ParseGoDuration("7ns"), absl::Nanoseconds(7));
  EXPECT_EQ(*ParseGoDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseGoDuration("0s"), absl::ZeroDuration());
  EXPECT_EQ(*ParseGoDuration("+5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseGoDuration("2h45m30.5s"), absl::Hours(2) + absl::Minutes(45) + absl::Milliseconds(30500));
  EXPECT_EQ(*ParseGoDuration("2562047h"), absl::Hours(2562047));
}

TEST(DurationTest, Rejects) {
  for (const char* bad : {"", "-1h", "1", "90", "h", "1x", "1 h", "1h ", ".s", "1.h5", "2562048h", "--1s", "+"}) {
    auto d = ParseGoDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_THAT(d.status().message(), HasSubstr("invalid duration")) << bad;
    }
  }
  EXPECT_THAT(ParseGoDuration("90").status().message(), HasSubstr("missing unit"));
  EXPECT_THAT(ParseGoDuration("-1h").status().message(), HasSubstr("negative"));
  EXPECT_THAT(ParseGoDuration("").status().message(), HasSubstr("empty"));
  EXPECT_THAT(ParseGoDuration("5d").status().message(), HasSubstr("unknown unit \"d\""));
}

TEST(DurationTest, FormatLikeGo) {
  EXPECT_EQ(FormatGoDuration(absl::Hours(1)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(absl::Hours(24)), "24h0m0s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(5)), "5s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(300)), "300ms");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(7)), "7ns");
  EXPECT_EQ(FormatGoDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatGoDuration(-absl::Minutes(5)), "-5m0s");
  EXPECT_EQ(FormatGoDuration(absl::Hours(2) + absl::Minutes(45) + absl::Milliseconds(30500)), "2h45m30.5s");
}

TEST(DurationTest, RoundTrip) {
  for (const char* s : {"1h0m0s", "5m0s", "1m30s", "300ms", "1.5s", "2h45m30.5s", "7ns"}) {
    auto d = ParseGoDuration(s);
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(FormatGoDuration(*d), s);
  }
}

}  // namespace
}  // namespace spirecvm
