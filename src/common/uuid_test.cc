#include "common/uuid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm {
namespace {

TEST(UuidTest, VersionFourFormat) {
  SystemRandom& r = SystemRandom::Get();
  for (int i = 0; i < 64; ++i) {
    EXPECT_THAT(NewUuidV4(r),
                ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  }
}

TEST(UuidTest, DrawsFromTheInjectedRandom) {
  TestOnlyDeterministicRandom a(7), b(7), c(8);
  std::string first = NewUuidV4(a);
  EXPECT_EQ(first, NewUuidV4(b));
  EXPECT_NE(first, NewUuidV4(c));
  EXPECT_NE(first, NewUuidV4(a));
}

TEST(UuidTest, SetsVersionAndVariantBitsOverAnyInput) {
  class AllOnes final : public Random {
   public:
    void Fill(absl::Span<uint8_t> out) override {
      for (auto& b : out) b = 0xff;
    }
  } ones;
  EXPECT_EQ(NewUuidV4(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

}  // namespace
}  // namespace spirecvm
