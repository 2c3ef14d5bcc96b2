#include "attestation/sevsnp/measure/ovmf.h"

#include <gtest/gtest.h>

#include "attestation/sevsnp/measure/test_ovmf.h"

namespace spirecvm::sevsnp::measure {
namespace {

using testing::Build;
using testing::SyntheticOvmf;

TEST(OvmfTest, ParsesFooterTableAndSevMetadata) {
  SyntheticOvmf s;
  auto o = Ovmf::Parse(Build(s));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->gpa(), 0x100000000ull - 16 * 4096);
  ASSERT_EQ(o->sections().size(), 5u);
  EXPECT_EQ(o->sections()[3].type, SectionType::kSnpKernelHashes);
  EXPECT_EQ(o->sections()[3].gpa, 0x80c000u);
  EXPECT_EQ(*o->SevEsResetEip(), 0xffffe000u);
  EXPECT_EQ(*o->SevHashTableGpa(), 0x80cc00u);
  EXPECT_TRUE(o->HasSection(SectionType::kCpuid));
  EXPECT_FALSE(o->HasSection(SectionType::kSvsmCaa));
}

TEST(OvmfTest, GuidLeSwapsTheFirstThreeFields) {
  EXPECT_EQ(GuidLe("00112233-4455-6677-8899-aabbccddeeff"),
            std::string("\x33\x22\x11\x00\x55\x44\x77\x66\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16));
}

TEST(OvmfTest, RefusesImagesThatAreNotPageMultiples) {
  EXPECT_FALSE(Ovmf::Parse("").ok());
  EXPECT_FALSE(Ovmf::Parse(std::string(4097, 'x')).ok());
}

TEST(OvmfTest, RefusesAnImageWithoutFooterTable) {
  auto o = Ovmf::Parse(std::string(8192, '\0'));
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("footer table"), std::string::npos) << o.status();
}

TEST(OvmfTest, RefusesAnImageWithoutSevMetadata) {
  SyntheticOvmf s;
  s.metadata = false;
  auto o = Ovmf::Parse(Build(s));
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("no SEV metadata"), std::string::npos) << o.status();
}

TEST(OvmfTest, RefusesOutOfBoundsFooterSizes) {
  std::string img = Build(SyntheticOvmf{});
  const size_t footer = img.size() - 32 - 18;
  testing::PutU16(img, footer, 0xffff);  // a table larger than the image before the footer
  auto o = Ovmf::Parse(img);
  EXPECT_FALSE(o.ok());
  testing::PutU16(img, footer, 5);  // smaller than an entry header
  EXPECT_FALSE(Ovmf::Parse(img).ok());
}

TEST(OvmfTest, RefusesAnEntryLargerThanTheTable) {
  std::string img = Build(SyntheticOvmf{});
  const size_t last_entry = img.size() - 32 - 18 - 18;  // header of the entry just before the footer
  testing::PutU16(img, last_entry, 0x4000);
  auto o = Ovmf::Parse(img);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("outside the table"), std::string::npos) << o.status();
}

TEST(OvmfTest, RefusesMetadataOutOfBounds) {
  SyntheticOvmf s;
  std::string img = Build(s);
  const size_t meta = img.size() - 4096;
  std::string bad = img;
  testing::PutU32(bad, meta + 12, 400);  // 400 sections in a 76-byte header
  EXPECT_FALSE(Ovmf::Parse(bad).ok());
  bad = img;
  testing::PutU32(bad, meta + 8, 2);  // version
  EXPECT_FALSE(Ovmf::Parse(bad).ok());
  bad = img;
  bad[meta] = 'X';  // signature
  EXPECT_FALSE(Ovmf::Parse(bad).ok());
  bad = img;
  testing::PutU32(bad, meta + 16 + 8, 9);  // unknown section type
  auto o = Ovmf::Parse(bad);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("unknown type 0x9"), std::string::npos) << o.status();
}

TEST(OvmfTest, RefusesAMetadataOffsetPastTheImageStart) {
  SyntheticOvmf s;
  s.pages = 2;
  std::string img = Build(s);
  // The metadata entry is the first table entry: its 4 data bytes precede its header.
  const size_t footer = img.size() - 32 - 18;
  const size_t table_size = static_cast<uint8_t>(img[footer]) | static_cast<uint8_t>(img[footer + 1]) << 8;
  testing::PutU32(img, footer - (table_size - 18), 0x100000);
  auto o = Ovmf::Parse(img);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("out of bounds"), std::string::npos) << o.status();
}

}  // namespace
}  // namespace spirecvm::sevsnp::measure
