#include "common/hex.h"

#include <gtest/gtest.h>

namespace spirecvm {
namespace {

TEST(HexTest, RoundTrip) {
  std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  EXPECT_EQ(*HexDecode("0001abff"), bytes);
  EXPECT_EQ(*HexDecode("0001ABFF"), bytes);
  EXPECT_EQ(*HexDecode(""), "");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(HexTest, RejectsGarbage) {
  EXPECT_EQ(HexDecode("abc").status().message(), "hex: odd length 3");
  EXPECT_EQ(HexDecode("zz").status().message(), "hex: invalid character at offset 0");
  EXPECT_EQ(HexDecode("0g").status().message(), "hex: invalid character at offset 1");
  EXPECT_FALSE(HexDecode("00 1").ok());
}

TEST(Base64Test, Standard) {
  EXPECT_EQ(Base64Encode("hello?>"), "aGVsbG8/Pg==");
  EXPECT_EQ(*Base64Decode("aGVsbG8/Pg=="), "hello?>");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_EQ(*Base64Decode("YQ=="), "a");
  EXPECT_EQ(*Base64Decode("YWI="), "ab");
  EXPECT_EQ(*Base64Decode("YWJj"), "abc");
  for (const char* bad : {"YQ", "YQ=", "YQ===", "Y", "aGVs bG8=", "aGVsbG8_Pg==", "YR==", "=", "YWJj\n", "Y=Q="}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

TEST(Base64Test, Url) {
  EXPECT_EQ(Base64UrlEncode("hello?>"), "aGVsbG8_Pg");
  EXPECT_EQ(*Base64UrlDecode("aGVsbG8_Pg"), "hello?>");
  EXPECT_EQ(*Base64UrlDecode("aGVsbG8_Pg=="), "hello?>");
  EXPECT_EQ(*Base64UrlDecode("YQ"), "a");
  for (const char* bad : {"aGVsbG8/Pg", "Y", "YR", "YQ=", "a b", "YQ==="}) {
    EXPECT_FALSE(Base64UrlDecode(bad).ok()) << bad;
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(all)), all);
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
}

}  // namespace
}  // namespace spirecvm
