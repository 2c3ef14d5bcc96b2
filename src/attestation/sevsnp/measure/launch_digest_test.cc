#include "attestation/sevsnp/measure/launch_digest.h"

#include <gtest/gtest.h>

#include "attestation/sevsnp/measure/test_ovmf.h"
#include "common/encoding.h"

namespace spirecvm::sevsnp::measure {
namespace {

using testing::Build;
using testing::SyntheticOvmf;

Ovmf Parsed(const SyntheticOvmf& s) { return *Ovmf::Parse(Build(s)); }

TEST(LaunchDigestTest, VcpuSignaturesFollowCpuidEncoding) {
  EXPECT_EQ(*VcpuSignature("EPYC-v4"), 0x800f12u);
  EXPECT_EQ(*VcpuSignature("EPYC-Milan"), 0xa00f11u);
  EXPECT_EQ(*VcpuSignature("EPYC-Genoa"), 0xa10f10u);
  auto bad = VcpuSignature("Skylake");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("EPYC-Milan"), std::string::npos);
}

TEST(LaunchDigestTest, VmmTypesParseCaseInsensitively) {
  EXPECT_EQ(*ParseVmmType("EC2"), VmmType::kEc2);
  EXPECT_EQ(*ParseVmmType("qemu"), VmmType::kQemu);
  EXPECT_FALSE(ParseVmmType("xen").ok());
}

TEST(LaunchDigestTest, VmsaPageCarriesTheVmmsInitialState) {
  const std::string q = VmsaPage(0xfffffff0, 1, 0xa00f11, VmmType::kQemu);
  const std::string e = VmsaPage(0xfffffff0, 1, 0xa00f11, VmmType::kEc2);
  ASSERT_EQ(q.size(), 4096u);
  EXPECT_EQ(static_cast<uint8_t>(q[0x12]), 0x9b);  // cs attrib
  EXPECT_EQ(static_cast<uint8_t>(e[0x12]), 0x9a);
  EXPECT_EQ(HexEncode(q.substr(0x310, 4)), "110fa000");         // rdx: the vCPU signature under QEMU
  EXPECT_EQ(HexEncode(e.substr(0x310, 4)), "00060000");         // EC2 always 0x600
  EXPECT_EQ(HexEncode(q.substr(0x18, 8)), "0000ffff00000000");  // cs base
  EXPECT_EQ(q[0x3b0], 1);                                       // sev_features
}

TEST(LaunchDigestTest, DependsOnEveryInput) {
  const Ovmf o = Parsed(SyntheticOvmf{});
  MeasureInput in{2, 0xa00f11, 1, VmmType::kEc2, std::nullopt};
  const std::string base = *LaunchDigest(o, in);
  ASSERT_EQ(base.size(), 48u);
  auto differs = [&](MeasureInput changed) { return *LaunchDigest(o, changed) != base; };
  MeasureInput c = in;
  c.vcpus = 3;
  EXPECT_TRUE(differs(c));
  c = in;
  c.vmm = VmmType::kQemu;
  EXPECT_TRUE(differs(c));
  c = in;
  c.guest_features = 0x21;
  EXPECT_TRUE(differs(c));
  c = in;
  c.kernel = KernelHashes{"kernel", "", ""};
  const std::string with_kernel = *LaunchDigest(o, c);
  EXPECT_NE(with_kernel, base);
  c.kernel->cmdline = "quiet";
  EXPECT_NE(*LaunchDigest(o, c), with_kernel);
  SyntheticOvmf other;
  other.reset_eip = 0xffffd000;
  EXPECT_NE(*LaunchDigest(Parsed(other), in), base);
}

TEST(LaunchDigestTest, RefusesAKernelWithoutAHashesSection) {
  SyntheticOvmf s;
  s.sections.erase(s.sections.begin() + 3);
  MeasureInput in{1, 0xa00f11, 1, VmmType::kEc2, KernelHashes{"k", "", ""}};
  auto d = LaunchDigest(Parsed(s), in);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("SNP_KERNEL_HASHES"), std::string::npos) << d.status();
}

TEST(LaunchDigestTest, RefusesAHashesTableThatDoesNotFitItsPage) {
  SyntheticOvmf s;
  s.hash_table_gpa = 0x80cfc0;  // 64 bytes before the page's end: the 176-byte table does not fit
  MeasureInput in{1, 0xa00f11, 1, VmmType::kQemu, KernelHashes{"k", "", ""}};
  EXPECT_FALSE(LaunchDigest(Parsed(s), in).ok());
}

TEST(LaunchDigestTest, RefusesZeroVcpusAndAMissingResetBlock) {
  MeasureInput in{0, 0xa00f11, 1, VmmType::kQemu, std::nullopt};
  EXPECT_FALSE(LaunchDigest(Parsed(SyntheticOvmf{}), in).ok());
  SyntheticOvmf s;
  s.reset_eip = 0;
  in.vcpus = 1;
  auto d = LaunchDigest(Parsed(s), in);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("SEV_ES_RESET_BLOCK"), std::string::npos) << d.status();
}

}  // namespace
}  // namespace spirecvm::sevsnp::measure
