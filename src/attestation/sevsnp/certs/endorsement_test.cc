#include "attestation/sevsnp/certs/endorsement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "attestation/sevsnp/sim/test_signers.h"
#include "attestation/sevsnp/test_util.h"

namespace spirecvm::sevsnp::certs {
namespace {

using ::testing::HasSubstr;

TEST(EndorsementTest, RealMilanVcek) {
  SEVSNP_READ_VECTOR(der, "snp/milan-vcek-debug/vcek.der");
  SEVSNP_READ_VECTOR(report, "snp/milan-vcek-debug/report.bin");
  auto cert = LoadCertificate(der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto info = ParseEndorsementExtensions(cert->get());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, abi::SigningKey::kVcek);
  EXPECT_EQ(info->struct_version, 0);
  EXPECT_EQ(info->product_name, "Milan-B0");
  EXPECT_EQ(info->product, abi::Product::kMilan);
  EXPECT_EQ(info->tcb, (abi::Tcb{.fmc = 0, .bl = 2, .tee = 0, .snp = 5, .ucode = 68}));
  EXPECT_FALSE(info->has_fmc);
  ASSERT_EQ(info->hw_id.size(), 64u);
  EXPECT_EQ(info->hw_id, report.substr(abi::off::kChipId, 64));
}

TEST(EndorsementTest, RealTurinVcekHasStructVersion1FmcAnd8ByteHwId) {
  SEVSNP_READ_VECTOR(der, "snp/turin-vcek/vcek.der");
  auto cert = LoadCertificate(der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto info = ParseEndorsementExtensions(cert->get());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, abi::SigningKey::kVcek);
  EXPECT_EQ(info->struct_version, 1);
  EXPECT_EQ(info->product, abi::Product::kTurin);
  EXPECT_TRUE(info->has_fmc);
  EXPECT_EQ(info->tcb, (abi::Tcb{.fmc = 0, .bl = 0, .tee = 0, .snp = 0, .ucode = 9}));
  EXPECT_EQ(absl::BytesToHexString(info->hw_id), "1e550a8ee5cf9f4d");
}

class SimEndorsementTest : public ::testing::Test {
 protected:
  sim::TestOnlyAmdSigner& signer_ = sim::SharedTestSigner(abi::Product::kMilan);
  absl::StatusOr<EndorsementInfo> Parse(const sim::EndorsementSpec& spec) {
    auto issued = signer_.IssueEndorsement(spec);
    if (!issued.ok()) return issued.status();
    return ParseEndorsementExtensions(issued->cert.get());
  }
};

TEST_F(SimEndorsementTest, VlekHasCspId) {
  auto info = Parse(signer_.DefaultSpec(abi::SigningKey::kVlek));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, abi::SigningKey::kVlek);
  EXPECT_EQ(info->csp_id, signer_.csp_id());
  EXPECT_TRUE(info->hw_id.empty());
}

TEST_F(SimEndorsementTest, HwIdWrappedInOctetStringIsAccepted) {
  auto spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.wrap_hw_id_in_octet_string = true;
  auto info = Parse(spec);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->hw_id, spec.hw_id);
}

TEST_F(SimEndorsementTest, OneAndTwoByteIntegers) {
  auto spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.tcb.ucode = 213;  // needs 02 02 00 d5
  spec.tcb.snp = 22;
  auto info = Parse(spec);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->tcb.ucode, 213);
  // 02 02 00 16 for a small value is not DER (non-minimal): rejected, never misread.
  spec.two_byte_integers = true;
  EXPECT_THAT(Parse(spec).status().message(), HasSubstr("is not a DER INTEGER"));
  EXPECT_EQ(sim::DerSmallInteger(5), std::string("\x02\x01\x05", 3));
  EXPECT_EQ(sim::DerSmallInteger(200), std::string("\x02\x02\x00\xc8", 4));
}

TEST_F(SimEndorsementTest, RejectsBothOrNeitherIdentity) {
  auto spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.csp_id = "CN=x";
  EXPECT_THAT(Parse(spec).status().message(), HasSubstr("both hwID"));
  spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.hw_id.clear();
  EXPECT_THAT(Parse(spec).status().message(), HasSubstr("neither hwID"));
}

TEST_F(SimEndorsementTest, RejectsBadHwIdLength) {
  auto spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.hw_id.resize(32);
  EXPECT_THAT(Parse(spec).status().message(), HasSubstr("hwID is 32 bytes, want 64"));
}

TEST_F(SimEndorsementTest, RejectsTurinWithoutFmc) {
  auto& turin = sim::SharedTestSigner(abi::Product::kTurin);
  auto spec = turin.DefaultSpec(abi::SigningKey::kVcek);
  auto issued = turin.IssueEndorsement(spec);
  ASSERT_TRUE(issued.ok());
  auto info = ParseEndorsementExtensions(issued->cert.get());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->struct_version, 1);
  EXPECT_EQ(info->hw_id.size(), 8u);
  EXPECT_EQ(info->tcb.fmc, 2);
  // A structVersion 1 certificate from a generator that forgot fmcSPL (Milan signer: no fmc ext).
  spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.struct_version = 1;
  spec.hw_id.resize(8);
  auto bad = signer_.IssueEndorsement(spec);
  ASSERT_TRUE(bad.ok());
  // The Milan signer adds fmcSPL for structVersion 1; check the parser's own guard with a product
  // name instead: Turin productName without fmcSPL.
  spec = signer_.DefaultSpec(abi::SigningKey::kVcek);
  spec.product_name = "Turin";
  spec.hw_id.resize(8);
  EXPECT_THAT(Parse(spec).status().message(), HasSubstr("lacks fmcSPL"));
}

TEST(LoadCertificatesTest, RejectsGarbageAndTrailingBytes) {
  EXPECT_FALSE(LoadCertificate("not a certificate").ok());
  auto& s = sim::SharedTestSigner(abi::Product::kMilan);
  std::string der = s.EndorsementDer(abi::SigningKey::kVcek);
  EXPECT_TRUE(LoadCertificate(der).ok());
  EXPECT_THAT(LoadCertificate(der + "x").status().message(), HasSubstr("trailing"));
  auto two = LoadCertificates(s.ChainPem(abi::SigningKey::kVcek));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_FALSE(LoadCertificate(s.ChainPem(abi::SigningKey::kVcek)).ok());
}

// ---------------------------------------------------------------- the parse steps, alone

std::string DerInt(uint8_t v) { return std::string("\x02\x01", 2) + static_cast<char>(v); }
std::string DerIa5(const std::string& s) { return std::string("\x16", 1) + static_cast<char>(s.size()) + s; }

AmdExtensions MilanSpls() {
  return {{kOidBlSpl, DerInt(3)}, {kOidTeeSpl, DerInt(0)}, {kOidSnpSpl, DerInt(8)}, {kOidUcodeSpl, DerInt(115)}};
}

TEST(EndorsementStepsTest, ProductStep) {
  EndorsementInfo info;
  ASSERT_TRUE(ParseEndorsementProduct({{kOidProductName, DerIa5("Genoa")}}, info).ok());
  EXPECT_EQ(info.product, abi::Product::kGenoa);
  EXPECT_EQ(info.struct_version, 0);
  EXPECT_THAT(ParseEndorsementProduct({{kOidStructVersion, DerInt(2)}}, info).message(),
              HasSubstr("structVersion is 2, want 0 or 1"));
  EXPECT_THAT(ParseEndorsementProduct({{kOidProductName, DerInt(1)}}, info).message(),
              HasSubstr("productName is not a DER IA5String"));
}

TEST(EndorsementStepsTest, TcbStep) {
  EndorsementInfo info;
  ASSERT_TRUE(ParseEndorsementTcb(MilanSpls(), info).ok());
  EXPECT_EQ(info.tcb, (abi::Tcb{.fmc = 0, .bl = 3, .tee = 0, .snp = 8, .ucode = 115}));
  AmdExtensions missing = MilanSpls();
  missing.erase(kOidUcodeSpl);
  EXPECT_THAT(ParseEndorsementTcb(missing, info).message(), HasSubstr("lacks AMD extension ucodeSPL"));
  AmdExtensions big = MilanSpls();
  big[kOidSnpSpl] = std::string("\x02\x02\x01\x00", 4);  // 256
  EXPECT_THAT(ParseEndorsementTcb(big, info).message(), HasSubstr("snpSPL is out of range"));
  EndorsementInfo turin;
  turin.struct_version = 1;
  EXPECT_THAT(ParseEndorsementTcb(MilanSpls(), turin).message(), HasSubstr("lacks fmcSPL"));
}

TEST(EndorsementStepsTest, KeyIdStep) {
  EndorsementInfo info;
  ASSERT_TRUE(ParseEndorsementKeyId({{kOidHwId, std::string(64, 'h')}}, info).ok());
  EXPECT_EQ(info.kind, abi::SigningKey::kVcek);
  ASSERT_TRUE(ParseEndorsementKeyId({{kOidCspId, DerIa5("CN=x")}}, info).ok());
  EXPECT_EQ(info.kind, abi::SigningKey::kVlek);
  EXPECT_EQ(info.csp_id, "CN=x");
  EXPECT_THAT(ParseEndorsementKeyId({}, info).message(), HasSubstr("neither hwID"));
  EXPECT_THAT(ParseEndorsementKeyId({{kOidHwId, std::string(64, 'h')}, {kOidCspId, DerIa5("CN=x")}}, info).message(),
              HasSubstr("both hwID"));
  EXPECT_THAT(ParseEndorsementKeyId({{kOidHwId, std::string(8, 'h')}}, info).message(),
              HasSubstr("hwID is 8 bytes, want 64"));
}

}  // namespace
}  // namespace spirecvm::sevsnp::certs
