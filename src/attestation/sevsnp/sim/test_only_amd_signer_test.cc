#include "attestation/sevsnp/sim/test_only_amd_signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "attestation/sevsnp/verify/verifier.h"

namespace spirecvm::sevsnp::sim {
namespace {

TEST(TestOnlyAmdSignerTest, SaveLoadRoundTripAndDirectoryIsAnAmdCertsDir) {
  const std::string dir = ::testing::TempDir() + "/sevsnp_signer_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  SignerOptions o;
  o.rsa_bits = 2048;
  o.product = abi::Product::kGenoa;
  auto created = TestOnlyAmdSigner::CreateOrLoad(dir, o);
  ASSERT_TRUE(created.ok()) << created.status();
  auto loaded = TestOnlyAmdSigner::CreateOrLoad(dir, o);  // loads, same hierarchy
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->ArkPem(), (*created)->ArkPem());
  EXPECT_EQ((*loaded)->chip_id(), (*created)->chip_id());
  EXPECT_EQ((*loaded)->product(), abi::Product::kGenoa);
  EXPECT_EQ(std::filesystem::status(dir + "/vcek.key").permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);

  // A report signed by the loaded signer verifies with the directory as amd_certs_dir.
  verify::VerifierOptions vo;
  vo.sources.amd_certs_dir = dir;
  ASSERT_TRUE(certs::AddInsecureExtraRootsPem((*created)->ArkPem(), vo.trust).ok());
  auto verifier = verify::Verifier::Create(vo);
  for (auto kind : {abi::SigningKey::kVcek, abi::SigningKey::kVlek}) {
    verify::VerifyRequest r;
    r.report = *(*loaded)->SignReport((*loaded)->DefaultReport(), kind);
    r.endorsement_cert = (*created)->EndorsementDer(kind);
    r.now = absl::FromUnixSeconds(1735689600);
    auto v = (*verifier)->Verify(r);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->product, abi::Product::kGenoa);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::sevsnp::sim
