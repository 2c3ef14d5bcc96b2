#include "common/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm {
namespace {

using ::testing::HasSubstr;

std::string AllBytes() {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  return all;
}

TEST(HexTest, RoundTrip) {
  std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  EXPECT_EQ(*HexDecode("0001abff"), bytes);
  EXPECT_EQ(*HexDecode("0001ABFF"), bytes);
  EXPECT_EQ(*HexDecode(""), "");
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(*HexDecode(HexEncode(AllBytes())), AllBytes());
}

TEST(HexTest, RejectsGarbage) {
  EXPECT_EQ(HexDecode("abc").status().message(), "hex: odd length 3");
  EXPECT_EQ(HexDecode("zz").status().message(), "hex: invalid character at offset 0");
  EXPECT_EQ(HexDecode("0g").status().message(), "hex: invalid character at offset 1");
  EXPECT_FALSE(HexDecode("00 1").ok());
}

TEST(Base64Test, StandardAlphabetIsPadded) {
  EXPECT_EQ(Base64Encode("hello?>"), "aGVsbG8/Pg==");
  EXPECT_EQ(Base64Encode("\xff\xfe"), "//4=");
  EXPECT_EQ(*Base64Decode("aGVsbG8/Pg=="), "hello?>");
  EXPECT_EQ(*Base64Decode("//4="), "\xff\xfe");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_EQ(*Base64Decode("YQ=="), "a");
  EXPECT_EQ(*Base64Decode("YWI="), "ab");
  EXPECT_EQ(*Base64Decode("YWJj"), "abc");
  EXPECT_EQ(*Base64Decode(Base64Encode(AllBytes())), AllBytes());
}

TEST(Base64Test, StandardRejectsBadInput) {
  for (const char* bad : {"YQ", "YQ=", "YQ===", "Y", "//4", "="}) {
    EXPECT_THAT(Base64Decode(bad).status().message(), HasSubstr("not a multiple of 4")) << bad;
  }
  EXPECT_THAT(Base64Decode("aGVs bG8").status().message(), HasSubstr("invalid character at offset 4"));
  EXPECT_THAT(Base64Decode("aGVsbG8_Pg==").status().message(), HasSubstr("invalid character at offset 7"));
  EXPECT_THAT(Base64Decode("__4=").status().message(), HasSubstr("invalid character"));  // URL alphabet
  EXPECT_FALSE(Base64Decode("YWJj\n").ok());                                             // whitespace
  EXPECT_THAT(Base64Decode("Y=Q=").status().message(), HasSubstr("padding before the end"));
  EXPECT_THAT(Base64Decode("/=4=").status().message(), HasSubstr("padding before the end"));
  EXPECT_THAT(Base64Decode("a===").status().message(), HasSubstr("padding before the end at offset 1"));
  EXPECT_THAT(Base64Decode("YR==").status().message(), HasSubstr("non-canonical"));  // non-zero trailing bits
  EXPECT_THAT(Base64Decode("//5=").status().message(), HasSubstr("non-canonical"));
  EXPECT_EQ(Base64Decode("YR==").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Base64Test, UrlAlphabetIsUnpadded) {
  EXPECT_EQ(Base64UrlEncode("hello?>"), "aGVsbG8_Pg");
  EXPECT_EQ(Base64UrlEncode("\xff\xfe"), "__4");
  EXPECT_EQ(*Base64UrlDecode("aGVsbG8_Pg"), "hello?>");
  EXPECT_EQ(*Base64UrlDecode("__4"), "\xff\xfe");
  EXPECT_EQ(*Base64UrlDecode("YQ"), "a");
  EXPECT_EQ(*Base64UrlDecode(""), "");
  EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(AllBytes())), AllBytes());
}

TEST(Base64Test, UrlRejectsPaddingAndBadInput) {
  // JOSE (RFC 7515 §2) forbids padding, so a padded segment is an error, not silently accepted.
  EXPECT_THAT(Base64UrlDecode("aGVsbG8_Pg==").status().message(), HasSubstr("padding is not allowed (offset 10)"));
  EXPECT_THAT(Base64UrlDecode("__4=").status().message(), HasSubstr("padding is not allowed"));
  EXPECT_THAT(Base64UrlDecode("aGVsbG8/Pg").status().message(), HasSubstr("invalid character at offset 7"));
  EXPECT_THAT(Base64UrlDecode("a b").status().message(), HasSubstr("invalid character at offset 1"));
  EXPECT_THAT(Base64UrlDecode("Y").status().message(), HasSubstr("impossible length 1"));
  EXPECT_THAT(Base64UrlDecode("YR").status().message(), HasSubstr("non-canonical"));
  EXPECT_THAT(Base64UrlDecode("__5").status().message(), HasSubstr("non-canonical"));
}

}  // namespace
}  // namespace spirecvm
