#include "crypto/der.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::der {
namespace {

using ::testing::HasSubstr;

TEST(CvmDerTest, UintIsMinimalAndRoundTrips) {
  EXPECT_EQ(Uint(kInteger, 0), std::string("\x02\x01\x00", 3));
  EXPECT_EQ(Uint(kInteger, 0x80), std::string("\x02\x02\x00\x80", 4));
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x7f}, uint64_t{0x80}, uint64_t{0xffff}, UINT64_MAX}) {
    const std::string enc = Uint(kInteger, v);
    Reader r(enc);
    auto got = r.NextUint(kInteger, "v");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, v);
    EXPECT_TRUE(r.empty());
  }
}

TEST(CvmDerTest, RefusesNonDerIntegers) {
  struct Case {
    std::string in, why;
  } cases[] = {
      {std::string("\x02\x00", 2), "empty integer"},
      {std::string("\x02\x01\x80", 3), "negative"},
      {std::string("\x02\x02\x00\x01", 4), "not minimally encoded"},
      {std::string("\x02\x0a\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12), "larger than 64 bits"},
  };
  for (const auto& c : cases) {
    Reader r(c.in);
    auto got = r.NextUint(kInteger, "n");
    ASSERT_FALSE(got.ok()) << c.why;
    EXPECT_THAT(got.status().message(), HasSubstr(c.why));
  }
}

TEST(CvmDerTest, LengthsAreBoundedAndMinimal) {
  const std::string long_content(300, 'x');
  const std::string enc = Tlv(kOctetString, long_content);
  Reader ok(enc);
  auto got = ok.Next(kOctetString, "s");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, long_content);

  struct Case {
    std::string in, why;
  } cases[] = {
      {std::string("\x04\x05\x01\x02", 4), "runs past the end"},
      {std::string("\x04\x80\x00\x00", 4), "indefinite length"},
      {std::string("\x04\x81\x05xxxxx", 8), "not minimally encoded"},
      {std::string("\x04\x82\x00\x05xxxxx", 9), "not minimally encoded"},
      {std::string("\x04\x83\x00\x00\x01x", 6), "length too large"},
      {std::string("\x04\x81", 2), "length truncated"},
      {std::string("\x04", 1), "missing"},
      {std::string("\x0c\x01x", 3), "tag 0xc, expected 0x4"},
  };
  for (const auto& c : cases) {
    Reader r(c.in);
    auto got = r.Next(kOctetString, "s");
    ASSERT_FALSE(got.ok()) << c.why;
    EXPECT_THAT(got.status().message(), HasSubstr(c.why));
  }
}

TEST(CvmDerTest, WriterEncodesEveryLengthMinimally) {
  EXPECT_EQ(Tlv(kOctetString, std::string(0x7f, 'x')).substr(0, 2), std::string("\x04\x7f", 2));
  EXPECT_EQ(Tlv(kOctetString, std::string(0x80, 'x')).substr(0, 3), std::string("\x04\x81\x80", 3));
  EXPECT_EQ(Tlv(kOctetString, std::string(0x100, 'x')).substr(0, 4), std::string("\x04\x82\x01\x00", 4));
  const std::string big = Tlv(kOctetString, std::string(0x11170, 'x'));
  EXPECT_EQ(big.substr(0, 5), std::string("\x04\x83\x01\x11\x70", 5));
  EXPECT_EQ(big.size(), 5u + 0x11170);
}

TEST(CvmDerTest, BooleanIsStrict) {
  const std::string et = Bool(true), ef = Bool(false), eb("\x01\x01\x01", 3);
  Reader t(et), f(ef), bad(eb);
  EXPECT_TRUE(*t.NextBool("b"));
  EXPECT_FALSE(*f.NextBool("b"));
  EXPECT_THAT(bad.NextBool("b").status().message(), HasSubstr("00 or FF"));
}

TEST(CvmDerTest, GeneralizedTimeHasOneSpelling) {
  const absl::Time t = absl::FromUnixSeconds(1790000000);
  EXPECT_EQ(Time(t), std::string("\x18\x0f"
                                 "20260921141320Z"));
  const std::string enc = Time(t);
  Reader r(enc);
  EXPECT_EQ(*r.NextTime("t"), t);
  for (std::string bad : {"20261321140000Z", "2026092114000Z", "20260921140000z", "2026092114000aZ"}) {
    const std::string enc = Tlv(kGeneralizedTime, bad);
    Reader b(enc);
    EXPECT_FALSE(b.NextTime("t").ok()) << bad;
  }
}

}  // namespace
}  // namespace spirecvm::der
