#include "attestation/sevsnp/abi/cert_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::sevsnp::abi {
namespace {

using ::testing::HasSubstr;

void Put32(std::string& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>(v >> (8 * i));
}

TEST(GuidTest, RoundTripsAndUsesRfc4122ByteOrder) {
  auto g = ParseGuid("63da758d-e664-4564-adc5-f4b93be8accd");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)[0], 0x63);
  EXPECT_EQ((*g)[15], 0xcd);
  EXPECT_EQ(GuidString(*g), "63da758d-e664-4564-adc5-f4b93be8accd");
  EXPECT_FALSE(ParseGuid("63da758d-e664-4564-adc5-f4b93be8acc").ok());
  EXPECT_FALSE(ParseGuid("63da758dxe664-4564-adc5-f4b93be8accd").ok());
}

TEST(CertTableTest, RoundTrip) {
  CertTable t;
  t.entries.push_back({VcekGuid(), "vcek-bytes"});
  t.entries.push_back({AskGuid(), "ask"});
  t.entries.push_back({ArkGuid(), "ark-bytes!"});
  std::string bytes = SerializeCertTable(t);
  EXPECT_EQ(bytes.size() % 4096, 0u);
  auto p = ParseCertTable(bytes);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->entries.size(), 3u);
  EXPECT_EQ(*p->Find(VcekGuid()), "vcek-bytes");
  EXPECT_EQ(*p->Find(AskGuid()), "ask");
  EXPECT_EQ(*p->Find(ArkGuid()), "ark-bytes!");
  EXPECT_FALSE(p->Find(VlekGuid()).has_value());
}

TEST(CertTableTest, EmptyInputIsEmptyTable) {
  auto p = ParseCertTable(std::string());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->entries.empty());
}

TEST(CertTableTest, RejectsMissingTerminator) {
  CertTable t;
  t.entries.push_back({VcekGuid(), "x"});
  std::string b = SerializeCertTable(t).substr(0, 30);
  EXPECT_THAT(ParseCertTable(b).status().message(), HasSubstr("before the all-zero terminator"));
}

TEST(CertTableTest, RejectsOutOfBoundsEntries) {
  CertTable t;
  t.entries.push_back({VcekGuid(), "abc"});
  std::string good = SerializeCertTable(t);
  std::string b = good;
  Put32(b, 16, static_cast<uint32_t>(b.size()));  // offset at end, length 3
  EXPECT_THAT(ParseCertTable(b).status().message(), HasSubstr("runs past the end"));
  b = good;
  Put32(b, 20, 0xFFFFFFFF);  // huge length (no overflow)
  EXPECT_THAT(ParseCertTable(b).status().message(), HasSubstr("runs past the end"));
  b = good;
  Put32(b, 16, 0);  // points into the header
  EXPECT_THAT(ParseCertTable(b).status().message(), HasSubstr("into the table header"));
  b = good;
  Put32(b, 20, 0);
  EXPECT_THAT(ParseCertTable(b).status().message(), HasSubstr("length 0"));
}

TEST(CertTableTest, RejectsDuplicateGuids) {
  CertTable t;
  t.entries.push_back({VcekGuid(), "a"});
  t.entries.push_back({VcekGuid(), "b"});
  EXPECT_THAT(ParseCertTable(SerializeCertTable(t)).status().message(), HasSubstr("duplicate"));
}

TEST(CertTableTest, RejectsTooManyEntries) {
  CertTable t;
  for (int i = 0; i < 70; ++i) {
    Guid g{};
    g[0] = static_cast<uint8_t>(i + 1);
    t.entries.push_back({g, "x"});
  }
  EXPECT_THAT(ParseCertTable(SerializeCertTable(t)).status().message(), HasSubstr("more than 64"));
}

}  // namespace
}  // namespace spirecvm::sevsnp::abi
