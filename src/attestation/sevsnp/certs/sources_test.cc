#include "attestation/sevsnp/certs/sources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::sevsnp::certs {
namespace {

TEST(KdsPathTest, MilanAndTurinVcekUrls) {
  std::string chip(64, '\0');
  for (int i = 0; i < 64; ++i) chip[i] = static_cast<char>(i);
  abi::Tcb t{.fmc = 1, .bl = 2, .tee = 3, .snp = 4, .ucode = 200};
  EXPECT_EQ(VcekKdsPath(abi::Product::kMilan, chip, t),
            "/vcek/v1/Milan/000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
            "?blSPL=2&teeSPL=3&snpSPL=4&ucodeSPL=200");
  EXPECT_EQ(VcekKdsPath(abi::Product::kTurin, chip, t),
            "/vcek/v1/Turin/0001020304050607?fmcSPL=1&blSPL=2&teeSPL=3&snpSPL=4&ucodeSPL=200");
  EXPECT_EQ(VcekCacheName(abi::Product::kTurin, chip.substr(0, 8), t),
            "0001020304050607_bl2_tee3_snp4_ucode200_fmc1.der");
}

TEST(ChainSourcesTest, OfflineWithoutDirectoryIsNotFound) {
  ChainSources s(ChainSourceConfig{});
  auto r = s.IntermediateAndRoot(abi::Product::kMilan, abi::SigningKey::kVcek, absl::UnixEpoch());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(s.IntermediateAndRoot(abi::Product::kUnknown, abi::SigningKey::kVcek, absl::UnixEpoch()).ok());
}

}  // namespace
}  // namespace spirecvm::sevsnp::certs
