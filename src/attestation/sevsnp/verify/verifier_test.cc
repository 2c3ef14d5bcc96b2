#include "attestation/sevsnp/verify/verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "attestation/sevsnp/policy/policy.h"
#include "attestation/sevsnp/sim/test_signers.h"
#include "attestation/sevsnp/test_util.h"

namespace spirecvm::sevsnp::verify {
namespace {

using ::testing::HasSubstr;

const absl::Time k2025 = absl::FromUnixSeconds(1735689600);  // 2025-01-01
constexpr char kMilanMeasurement[] =
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";

std::unique_ptr<Verifier> MakeVerifier(VerifierOptions o = {}) {
  auto v = Verifier::Create(std::move(o));
  EXPECT_TRUE(v.ok()) << v.status();
  return std::move(*v);
}

// ---------------------------------------------------------------- the real Milan report

TEST(RealVectorTest, MilanReportVerifiesAgainstRealChain) {
  SEVSNP_READ_VECTOR(report, "snp/milan-vcek-debug/report.bin");
  SEVSNP_READ_VECTOR(vcek, "snp/milan-vcek-debug/vcek.der");
  SEVSNP_READ_VECTOR(chain, "amd/ask_ark_milan_vcek.pem");
  auto verifier = MakeVerifier();
  VerifyRequest req;
  req.report = report;
  req.endorsement_cert = vcek;
  req.chain_pem = chain;
  req.now = k2025;
  auto v = verifier->Verify(req);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->MeasurementHex(), kMilanMeasurement);
  EXPECT_EQ(v->product, abi::Product::kMilan);  // v2: from the pinned ARK
  EXPECT_TRUE(v->root_is_pinned_amd);
  EXPECT_EQ(v->signing_key, abi::SigningKey::kVcek);
  EXPECT_EQ(v->reported_tcb, (abi::Tcb{.fmc = 0, .bl = 2, .tee = 0, .snp = 5, .ucode = 68}));

  // Default policy rejects DEBUG; allow_debug accepts.
  policy::Policy p;
  auto denied = policy::Evaluate(*v, p);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.message(), HasSubstr("DEBUG"));
  EXPECT_EQ(policy::Violations(*v, p).size(), 1u);
  p.allow_debug = true;
  EXPECT_TRUE(policy::Evaluate(*v, p).ok());
  p.allowed_measurements = {kMilanMeasurement};
  EXPECT_TRUE(policy::Evaluate(*v, p).ok());

  // Second verification comes from the chain cache.
  auto again = verifier->Verify(req);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->chain_from_cache);
  EXPECT_THAT(again->ToJson(), HasSubstr(kMilanMeasurement));

  // With the product fallback given, it must agree with the chain.
  req.product_fallback = abi::Product::kGenoa;
  auto wrong = MakeVerifier()->Verify(req);
  EXPECT_THAT(wrong.status().message(), HasSubstr("does not match the certificate chain's product Milan"));
}

TEST(RealVectorTest, MilanReportFromAmdCertsDirectory) {
  SEVSNP_READ_VECTOR(report, "snp/milan-vcek-debug/report.bin");
  SEVSNP_READ_VECTOR(vcek, "snp/milan-vcek-debug/vcek.der");
  VerifierOptions o;
  o.sources.amd_certs_dir = testing::VectorsDir() + "/amd";  // flat ask_ark_<product>_<kind>.pem
  auto verifier = MakeVerifier(o);
  VerifyRequest req;
  req.report = report;
  req.endorsement_cert = vcek;
  req.now = k2025;
  req.product_fallback = abi::Product::kMilan;
  auto v = verifier->Verify(req);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->MeasurementHex(), kMilanMeasurement);
}

TEST(RealVectorTest, RealReportWithFlippedByteFails) {
  SEVSNP_READ_VECTOR(report, "snp/milan-vcek-debug/report.bin");
  SEVSNP_READ_VECTOR(vcek, "snp/milan-vcek-debug/vcek.der");
  SEVSNP_READ_VECTOR(chain, "amd/ask_ark_milan_vcek.pem");
  VerifyRequest req;
  req.endorsement_cert = vcek;
  req.chain_pem = chain;
  req.now = k2025;
  for (size_t off : {abi::off::kMeasurement, abi::off::kReportData, abi::off::kSigR, abi::off::kSigS + 47}) {
    req.report = report;
    req.report[off] ^= 0x01;
    auto v = MakeVerifier()->Verify(req);
    EXPECT_THAT(v.status().message(), HasSubstr("signature does not verify")) << off;
  }
}

// A fake KDS: serves fixed bodies by URL and records requests.
class FakeKds : public certs::KdsFetcher {
 public:
  std::map<std::string, std::string> bodies;
  std::vector<std::string> requests;
  absl::StatusOr<std::string> Get(const std::string& url) override {
    requests.push_back(url);
    auto it = bodies.find(url);
    if (it == bodies.end()) return absl::NotFoundError("HTTP 404 " + url);
    return it->second;
  }
};

TEST(RealVectorTest, MilanVcekAndChainFromKdsThenOnDiskCache) {
  SEVSNP_READ_VECTOR(report, "snp/milan-vcek-debug/report.bin");
  SEVSNP_READ_VECTOR(vcek, "snp/milan-vcek-debug/vcek.der");
  SEVSNP_READ_VECTOR(chain, "amd/ask_ark_milan_vcek.pem");
  const std::string chip = absl::BytesToHexString(report.substr(abi::off::kChipId, 64));
  auto kds = std::make_shared<FakeKds>();
  const std::string vcek_url =
      std::string(certs::kKdsBaseUrl) + "/vcek/v1/Milan/" + chip + "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68";
  kds->bodies[vcek_url] = vcek;
  kds->bodies[std::string(certs::kKdsBaseUrl) + "/vcek/v1/Milan/cert_chain"] = chain;
  const std::string cache = ::testing::TempDir() + "/kds_cache_" + std::to_string(::getpid());
  std::filesystem::remove_all(cache);

  VerifierOptions o;
  o.sources.kds_fetcher = kds;
  o.sources.kds_cache_dir = cache;
  VerifyRequest req;
  req.report = report;
  req.now = k2025;
  req.product_fallback = abi::Product::kMilan;
  auto v = MakeVerifier(o)->Verify(req);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(kds->requests.size(), 2u);

  // Offline now: the on-disk cache alone suffices.
  VerifierOptions offline;
  offline.sources.kds_cache_dir = cache;
  auto v2 = MakeVerifier(offline)->Verify(req);
  ASSERT_TRUE(v2.ok()) << v2.status();

  // Offline without cache: a clear NotFound.
  auto v3 = MakeVerifier()->Verify(req);
  EXPECT_EQ(v3.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(v3.status().message(), HasSubstr("fetching is disabled"));
  std::filesystem::remove_all(cache);
}

// ---------------------------------------------------------------- the test-only signer

class SimVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { verifier_ = Trusting(s_); }
  static std::unique_ptr<Verifier> Trusting(const sim::TestOnlyAmdSigner& s, VerifierOptions o = {}) {
    EXPECT_TRUE(certs::AddInsecureExtraRootsPem(s.ArkPem(), o.trust).ok());
    return MakeVerifier(std::move(o));
  }
  VerifyRequest Request(const std::string& report, abi::SigningKey kind) {
    VerifyRequest r;
    r.report = report;
    r.endorsement_cert = s_.EndorsementDer(kind);
    r.chain_pem = s_.ChainPem(kind);
    r.now = k2025;
    return r;
  }
  std::string Sign(const abi::Report& r, abi::SigningKey kind = abi::SigningKey::kVcek) {
    auto b = s_.SignReport(r, kind);
    EXPECT_TRUE(b.ok()) << b.status();
    return *b;
  }
  sim::TestOnlyAmdSigner& s_ = sim::SharedTestSigner(abi::Product::kMilan);
  std::unique_ptr<Verifier> verifier_;
};

TEST_F(SimVerifyTest, VcekAndVlekReportsVerify) {
  for (auto kind : {abi::SigningKey::kVcek, abi::SigningKey::kVlek}) {
    auto v = verifier_->Verify(Request(Sign(s_.DefaultReport(), kind), kind));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->signing_key, kind);
    EXPECT_FALSE(v->root_is_pinned_amd);
    EXPECT_TRUE(policy::Evaluate(*v, policy::Policy{}).ok());
  }
}

TEST_F(SimVerifyTest, CertificateTableAloneSuffices) {
  for (auto kind : {abi::SigningKey::kVcek, abi::SigningKey::kVlek}) {
    VerifyRequest r;
    r.report = Sign(s_.DefaultReport(), kind);
    r.cert_table = s_.CertTable(kind);
    r.now = k2025;
    auto v = verifier_->Verify(r);
    ASSERT_TRUE(v.ok()) << v.status();
  }
}

TEST_F(SimVerifyTest, NonAmdArkRejectedWithoutInsecureExtraRoots) {
  auto v = MakeVerifier()->Verify(Request(Sign(s_.DefaultReport()), abi::SigningKey::kVcek));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(v.status().message(), HasSubstr("is not a pinned AMD ARK"));
}

// Over 60 lines: a table with one row per signed report field.
TEST_F(SimVerifyTest, EveryFlippedSignedFieldFails) {
  const std::string good = Sign(s_.DefaultReport());
  struct Field {
    const char* name;
    size_t offset;
    uint8_t xor_mask;
    const char* want;
  };
  const char* sig = "signature does not verify";
  const char* mbz = "must be zero";
  const Field fields[] = {
      {"VERSION", abi::off::kVersion, 0x06, sig},  // 3 -> 5
      {"GUEST_SVN", abi::off::kGuestSvn, 0x01, sig},
      {"POLICY", abi::off::kPolicy, 0x01, sig},
      {"POLICY.DEBUG", abi::off::kPolicy + 2, 0x08, sig},
      {"FAMILY_ID", abi::off::kFamilyId, 0x01, sig},
      {"IMAGE_ID", abi::off::kImageId + 15, 0x80, sig},
      {"VMPL", abi::off::kVmpl, 0x01, sig},
      {"SIGNATURE_ALGO", abi::off::kSignatureAlgo, 0x03, "SIGNATURE_ALGO is 2"},
      {"CURRENT_TCB", abi::off::kCurrentTcb, 0x01, sig},
      {"PLATFORM_INFO", abi::off::kPlatformInfo, 0x20, sig},
      {"AUTHOR_KEY_EN", abi::off::kSignerInfo, 0x01, sig},
      {"MASK_CHIP_KEY", abi::off::kSignerInfo, 0x02, "MASK_CHIP_KEY is 1"},
      {"SIGNING_KEY", abi::off::kSignerInfo, 0x04, sig},
      {"SIGNING_KEY=7", abi::off::kSignerInfo, 0x1C, "SIGNING_KEY is 7"},
      {"reserved 0x4C", abi::off::kReserved04C, 0x01, mbz},
      {"REPORT_DATA", abi::off::kReportData + 63, 0x01, sig},
      {"MEASUREMENT", abi::off::kMeasurement, 0x01, sig},
      {"HOST_DATA", abi::off::kHostData, 0x01, sig},
      {"ID_KEY_DIGEST", abi::off::kIdKeyDigest, 0x01, sig},
      {"AUTHOR_KEY_DIGEST", abi::off::kAuthorKeyDigest, 0x01, sig},
      {"REPORT_ID", abi::off::kReportId, 0x01, sig},
      {"REPORT_ID_MA", abi::off::kReportIdMa, 0x01, sig},
      {"REPORTED_TCB", abi::off::kReportedTcb + 6, 0x01, sig},
      {"CPUID_FAM_ID", abi::off::kCpuidFamId, 0x01, sig},
      {"CPUID_MOD_ID", abi::off::kCpuidModId, 0x10, sig},
      {"CPUID_STEP", abi::off::kCpuidStep, 0x01, sig},
      {"reserved 0x18B", abi::off::kReserved18B, 0x01, mbz},
      {"CHIP_ID", abi::off::kChipId + 63, 0x01, sig},
      {"COMMITTED_TCB", abi::off::kCommittedTcb, 0x01, sig},
      {"CURRENT_BUILD", abi::off::kCurrentBuild, 0x01, sig},
      {"CURRENT_MINOR", abi::off::kCurrentMinor, 0x01, sig},
      {"CURRENT_MAJOR", abi::off::kCurrentMajor, 0x01, sig},
      {"reserved 0x1EB", abi::off::kReserved1EB, 0x01, mbz},
      {"COMMITTED_BUILD", abi::off::kCommittedBuild, 0x01, sig},
      {"COMMITTED_MINOR", abi::off::kCommittedMinor, 0x01, sig},
      {"COMMITTED_MAJOR", abi::off::kCommittedMajor, 0x01, sig},
      {"reserved 0x1EF", abi::off::kReserved1EF, 0x01, mbz},
      {"LAUNCH_TCB", abi::off::kLaunchTcb, 0x01, sig},
      {"reserved 0x1F8 (v3)", abi::off::kLaunchMitVector, 0x01, mbz},
      {"reserved 0x29F", abi::kSignedSize - 1, 0x01, mbz},
      {"SIGNATURE R", abi::off::kSigR, 0x01, sig},
      {"SIGNATURE R msb", abi::off::kSigR + 47, 0x01, sig},
      {"SIGNATURE S", abi::off::kSigS, 0x01, sig},
      {"SIGNATURE R padding", abi::off::kSigR + 48, 0x01, "R has non-zero padding"},
      {"SIGNATURE S padding", abi::off::kSigS + 71, 0x01, "S has non-zero padding"},
      {"SIGNATURE reserved", abi::off::kSigReserved + 10, 0x01, "SIGNATURE reserved area"},
  };
  for (const auto& f : fields) {
    VerifyRequest r = Request(good, abi::SigningKey::kVcek);
    r.report[f.offset] = static_cast<char>(static_cast<uint8_t>(r.report[f.offset]) ^ f.xor_mask);
    r.product_fallback = abi::Product::kMilan;  // so a flipped CPUID still reaches the signature
    auto v = verifier_->Verify(r);
    EXPECT_FALSE(v.ok()) << f.name;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << f.name;
    EXPECT_THAT(v.status().message(), HasSubstr(f.want)) << f.name;
  }
  // Unflipped: passes (the loop's failures are due to the flips).
  EXPECT_TRUE(verifier_->Verify(Request(good, abi::SigningKey::kVcek)).ok());
}

TEST_F(SimVerifyTest, VcekFromAnotherChip) {
  auto spec = s_.DefaultSpec(abi::SigningKey::kVcek);
  spec.hw_id[0] ^= 0x01;
  auto other = s_.IssueEndorsement(spec);
  ASSERT_TRUE(other.ok());
  auto report = sim::TestOnlyAmdSigner::SignReportWithKey(s_.DefaultReport(), other->key.get());
  ASSERT_TRUE(report.ok());
  VerifyRequest r = Request(*report, abi::SigningKey::kVcek);
  r.endorsement_cert = certs::CertDer(other->cert.get());
  auto v = verifier_->Verify(r);
  EXPECT_THAT(v.status().message(), HasSubstr("the VCEK belongs to another chip"));
  // A masked (zero) CHIP_ID skips the hwID comparison.
  abi::Report masked = s_.DefaultReport();
  masked.chip_id.fill(0);
  report = sim::TestOnlyAmdSigner::SignReportWithKey(masked, other->key.get());
  r.report = *report;
  EXPECT_TRUE(verifier_->Verify(r).ok());
}

TEST_F(SimVerifyTest, VcekForAnotherTcb) {
  auto spec = s_.DefaultSpec(abi::SigningKey::kVcek);
  spec.tcb.snp += 1;
  auto other = s_.IssueEndorsement(spec);
  ASSERT_TRUE(other.ok());
  auto report = sim::TestOnlyAmdSigner::SignReportWithKey(s_.DefaultReport(), other->key.get());
  VerifyRequest r = Request(*report, abi::SigningKey::kVcek);
  r.endorsement_cert = certs::CertDer(other->cert.get());
  auto v = verifier_->Verify(r);
  EXPECT_THAT(v.status().message(), HasSubstr("REPORTED_TCB (bl=3 tee=0 snp=8 ucode=115) does not equal "
                                              "the endorsement certificate's TCB (bl=3 tee=0 snp=9"));
}

TEST_F(SimVerifyTest, VlekPresentedAsVcekAndTheReverse) {
  // Report claims VCEK but is signed by (and presented with) the VLEK.
  abi::Report fields = s_.DefaultReport();
  fields.signer_info = 0;  // SIGNING_KEY = VCEK
  auto report = s_.SignReportRaw(fields, abi::SigningKey::kVlek);
  ASSERT_TRUE(report.ok());
  auto v = verifier_->Verify(Request(*report, abi::SigningKey::kVlek));
  EXPECT_THAT(v.status().message(), HasSubstr("SIGNING_KEY says VCEK but the endorsement certificate is a VLEK"));
  // Report claims VLEK, signed by and presented with the VCEK.
  fields.signer_info = 1u << 2;
  report = s_.SignReportRaw(fields, abi::SigningKey::kVcek);
  v = verifier_->Verify(Request(*report, abi::SigningKey::kVcek));
  EXPECT_THAT(v.status().message(), HasSubstr("SIGNING_KEY says VLEK but the endorsement certificate is a VCEK"));
  // VLEK-signed report, VCEK certificate: the signature fails.
  report = s_.SignReport(s_.DefaultReport(), abi::SigningKey::kVlek);
  VerifyRequest r = Request(*report, abi::SigningKey::kVcek);
  EXPECT_THAT(verifier_->Verify(r).status().message(), HasSubstr("signature does not verify"));
}

TEST_F(SimVerifyTest, ExpiredCertificate) {
  VerifyRequest r = Request(Sign(s_.DefaultReport()), abi::SigningKey::kVcek);
  r.now = absl::FromUnixSeconds(4133980800);  // 2101
  EXPECT_THAT(verifier_->Verify(r).status().message(), HasSubstr("has expired"));
}

TEST_F(SimVerifyTest, RevokedAskFromDirectoryCrl) {
  const std::string dir = ::testing::TempDir() + "/sevsnp_crl_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto crl = s_.IssueCrlPem({s_.ask()}, k2025 - absl::Hours(1), k2025 + absl::Hours(24));
  ASSERT_TRUE(crl.ok());
  std::ofstream(dir + "/crl_milan_vcek.pem") << *crl;
  VerifierOptions o;
  o.check_crl = true;
  o.sources.amd_certs_dir = dir;
  auto verifier = Trusting(s_, o);
  auto v = verifier->Verify(Request(Sign(s_.DefaultReport()), abi::SigningKey::kVcek));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(v.status().message(), HasSubstr("revoked"));
  // check_crl with no CRL available: an error, not a pass.
  auto vlek = verifier->Verify(Request(Sign(s_.DefaultReport(), abi::SigningKey::kVlek), abi::SigningKey::kVlek));
  EXPECT_THAT(vlek.status().message(), HasSubstr("CRL not found"));
  std::filesystem::remove_all(dir);
}

// CRLs from KDS are re-fetched when the chain cache TTL passes and when their nextUpdate passes: a revocation
// published later takes effect, and a CRL that went stale is replaced rather than failing every attestation.
TEST_F(SimVerifyTest, KdsCrlIsRefetchedOnTtlAndNextUpdate) {
  auto kds = std::make_shared<FakeKds>();
  const std::string url = std::string(certs::kKdsBaseUrl) + "/vcek/v1/Milan/crl";
  kds->bodies[url] = *s_.IssueCrlPem({}, k2025 - absl::Hours(1), k2025 + absl::Hours(24 * 30));
  VerifierOptions o;
  o.check_crl = true;
  o.sources.kds_fetcher = kds;
  o.chain_cache_ttl = absl::Hours(1);
  auto verifier = Trusting(s_, o);
  auto at = [&](absl::Time t) {
    VerifyRequest r = Request(Sign(s_.DefaultReport()), abi::SigningKey::kVcek);
    r.now = t;
    return verifier->Verify(r);
  };
  ASSERT_TRUE(at(k2025).ok());
  ASSERT_TRUE(at(k2025 + absl::Minutes(30)).ok());
  EXPECT_EQ(kds->requests.size(), 1u);
  // AMD revokes the ASK; after the TTL the new CRL is fetched and applied.
  kds->bodies[url] = *s_.IssueCrlPem({s_.ask()}, k2025 + absl::Hours(1), k2025 + absl::Hours(5));
  auto revoked = at(k2025 + absl::Hours(2));
  EXPECT_EQ(revoked.status().code(), absl::StatusCode::kPermissionDenied) << revoked.status();
  EXPECT_EQ(kds->requests.size(), 2u);
  // With a long TTL, a CRL past its nextUpdate is fetched again at once.
  VerifierOptions o2 = o;
  o2.chain_cache_ttl = absl::Hours(24 * 7);
  auto kds2 = std::make_shared<FakeKds>();
  kds2->bodies[url] = *s_.IssueCrlPem({}, k2025 - absl::Hours(1), k2025 + absl::Hours(1));
  o2.sources.kds_fetcher = kds2;
  verifier = Trusting(s_, o2);
  ASSERT_TRUE(at(k2025).ok());
  kds2->bodies[url] = *s_.IssueCrlPem({}, k2025 + absl::Hours(1), k2025 + absl::Hours(48));
  auto fresh = at(k2025 + absl::Hours(3));
  EXPECT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(kds2->requests.size(), 2u);
}

// check_crl and a CRL from another issuer: an error, never a skip.
TEST_F(SimVerifyTest, CrlFromAnotherIssuerIsAnError) {
  const std::string dir = ::testing::TempDir() + "/sevsnp_crl_foreign_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto& genoa = sim::SharedTestSigner(abi::Product::kGenoa);
  std::ofstream(dir + "/crl_milan_vcek.pem") << *genoa.IssueCrlPem({}, k2025 - absl::Hours(1), k2025 + absl::Hours(24));
  VerifierOptions o;
  o.check_crl = true;
  o.sources.amd_certs_dir = dir;
  auto v = Trusting(s_, o)->Verify(Request(Sign(s_.DefaultReport()), abi::SigningKey::kVcek));
  EXPECT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("not issued by the chain's root"));
  std::filesystem::remove_all(dir);
}

// Unverified reports naming unknown chips must not make the server hammer AMD KDS: a failed URL is not requested
// again before kds_failure_ttl, and all requests share a per-minute budget.
TEST_F(SimVerifyTest, KdsFailuresAreCachedAndRequestsBudgeted) {
  auto kds = std::make_shared<FakeKds>();  // knows no VCEK: every request fails
  VerifierOptions o;
  o.sources.kds_fetcher = kds;
  o.sources.kds_failure_ttl = absl::Minutes(1);
  o.sources.kds_requests_per_minute = 5;
  auto verifier = Trusting(s_, o);
  auto report_for_chip = [&](uint8_t chip) {
    abi::Report fields = s_.DefaultReport();
    fields.chip_id.fill(chip);
    VerifyRequest r;
    r.report = Sign(fields);
    r.now = k2025;
    return r;
  };
  VerifyRequest same = report_for_chip(1);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(verifier->Verify(same).ok());
  EXPECT_EQ(kds->requests.size(), 1u);
  same.now = k2025 + absl::Minutes(2);
  EXPECT_FALSE(verifier->Verify(same).ok());
  EXPECT_EQ(kds->requests.size(), 2u);
  for (int chip = 2; chip < 40; ++chip) {
    VerifyRequest r = report_for_chip(static_cast<uint8_t>(chip));
    r.now = k2025 + absl::Minutes(2);
    EXPECT_FALSE(verifier->Verify(r).ok());
  }
  EXPECT_EQ(kds->requests.size(), 6u);  // the budget of the minute that began at +2 min
  VerifyRequest late = report_for_chip(99);
  late.now = k2025 + absl::Minutes(4);
  EXPECT_FALSE(verifier->Verify(late).ok());
  EXPECT_EQ(kds->requests.size(), 7u);
}

TEST_F(SimVerifyTest, ExpectedReportDataIsCompared) {
  abi::Report fields = s_.DefaultReport();
  fields.report_data.fill(0x42);
  VerifyRequest r = Request(Sign(fields), abi::SigningKey::kVcek);
  r.expected_report_data = std::string(64, '\x42');
  EXPECT_TRUE(verifier_->Verify(r).ok());
  r.expected_report_data = std::string(64, '\x43');
  auto v = verifier_->Verify(r);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(v.status().message(), HasSubstr("REPORT_DATA does not equal the expected value"));
  r.expected_report_data = std::string(32, '\x42');
  EXPECT_FALSE(verifier_->Verify(r).ok());
}

TEST_F(SimVerifyTest, V2ReportNeedsNoCpuid) {
  abi::Report fields = s_.DefaultReport();
  fields.version = 2;
  fields.cpuid_fam_id = fields.cpuid_mod_id = fields.cpuid_step = 0;
  VerifyRequest r = Request(Sign(fields), abi::SigningKey::kVcek);
  r.product_fallback = abi::Product::kMilan;
  auto v = verifier_->Verify(r);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->product, abi::Product::kMilan);
}

TEST_F(SimVerifyTest, ProductFromCpuidMustMatchChain) {
  abi::Report fields = s_.DefaultReport();
  fields.cpuid_mod_id = 0x11;  // Genoa
  auto v = verifier_->Verify(Request(Sign(fields), abi::SigningKey::kVcek));
  EXPECT_THAT(v.status().message(), HasSubstr("report product Genoa (from CPUID) does not match"));
}

TEST(SimTurinTest, TurinReportWithFmcAnd8ByteHwId) {
  auto& s = sim::SharedTestSigner(abi::Product::kTurin);
  VerifierOptions o;
  ASSERT_TRUE(certs::AddInsecureExtraRootsPem(s.ArkPem(), o.trust).ok());
  auto verifier = MakeVerifier(o);
  auto report = s.SignReport(s.DefaultReport(), abi::SigningKey::kVcek);
  ASSERT_TRUE(report.ok());
  VerifyRequest r;
  r.report = *report;
  r.cert_table = s.CertTable(abi::SigningKey::kVcek);
  r.now = k2025;
  auto v = verifier->Verify(r);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->product, abi::Product::kTurin);
  EXPECT_EQ(v->reported_tcb.fmc, 2);
  EXPECT_EQ(v->endorsement.hw_id.size(), 8u);
  // FMC is part of the binding on Turin.
  abi::Report fields = s.DefaultReport();
  abi::Tcb t = abi::DecodeTcb(fields.reported_tcb, abi::Product::kTurin);
  t.fmc = 3;
  fields.reported_tcb = abi::EncodeTcb(t, abi::Product::kTurin);
  r.report = *s.SignReport(fields, abi::SigningKey::kVcek);
  EXPECT_THAT(verifier->Verify(r).status().message(), HasSubstr("fmc=3"));
}

TEST(SignatureTest, ZeroRIsRejected) {
  auto& s = sim::SharedTestSigner(abi::Product::kMilan);
  abi::Report fields = s.DefaultReport();
  auto bytes = s.SignReport(fields, abi::SigningKey::kVcek);
  auto parsed = abi::ParseReport(*bytes);
  parsed->signature_r.fill(0);
  auto leaf = certs::LoadCertificate(s.EndorsementDer(abi::SigningKey::kVcek));
  EXPECT_THAT(VerifyReportSignature(abi::SerializeReport(*parsed), X509_get0_pubkey(leaf->get())).message(),
              HasSubstr("is zero"));
}

}  // namespace
}  // namespace spirecvm::sevsnp::verify

namespace spirecvm::sevsnp::verify {
namespace {

// ---------------------------------------------------------------- the steps of Verify, alone

TEST(VerifyStepsTest, ReportProduct) {
  abi::Report r;
  r.version = 3;
  r.cpuid_fam_id = 0x19;
  r.cpuid_mod_id = 0x01;
  EXPECT_EQ(*ReportProduct(r, abi::Product::kGenoa), abi::Product::kMilan);  // CPUID wins
  r.cpuid_mod_id = 0x77;
  EXPECT_THAT(ReportProduct(r, abi::Product::kUnknown).status().message(),
              HasSubstr("model 0x77 is not a known SEV-SNP product"));
  EXPECT_EQ(*ReportProduct(r, abi::Product::kTurin), abi::Product::kTurin);
  r.version = 2;  // no CPUID: the fallback, possibly unknown
  EXPECT_EQ(*ReportProduct(r, abi::Product::kUnknown), abi::Product::kUnknown);
}

TEST(VerifyStepsTest, ReconcileProduct) {
  abi::Report r;
  r.version = 3;
  EXPECT_EQ(*ReconcileProduct(r, abi::Product::kMilan, abi::Product::kMilan), abi::Product::kMilan);
  EXPECT_EQ(*ReconcileProduct(r, abi::Product::kUnknown, abi::Product::kGenoa), abi::Product::kGenoa);
  EXPECT_EQ(*ReconcileProduct(r, abi::Product::kGenoa, abi::Product::kUnknown), abi::Product::kGenoa);
  EXPECT_THAT(ReconcileProduct(r, abi::Product::kGenoa, abi::Product::kMilan).status().message(),
              HasSubstr("report product Genoa (from CPUID) does not match the certificate chain's product Milan"));
  EXPECT_THAT(ReconcileProduct(r, abi::Product::kUnknown, abi::Product::kUnknown).status().message(),
              HasSubstr("cannot tell the report's product"));
}

TEST(VerifyStepsTest, CheckReportData) {
  abi::Report r;
  r.report_data.fill(7);
  EXPECT_TRUE(CheckReportData(r, std::nullopt).ok());
  EXPECT_TRUE(CheckReportData(r, std::string(64, '\x07')).ok());
  EXPECT_EQ(CheckReportData(r, std::string(64, '\x08')).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckReportData(r, std::string(63, '\x07')).code(), absl::StatusCode::kPermissionDenied);
}

TEST(VerifyStepsTest, SuppliedChainCandidates) {
  auto& s = sim::SharedTestSigner(abi::Product::kMilan);
  auto none = SuppliedChainCandidates("", abi::CertTable{});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // ASK only: no root yet (the sources supply it).
  auto ask_only = SuppliedChainCandidates(s.AskPem(), abi::CertTable{});
  ASSERT_TRUE(ask_only.ok()) << ask_only.status();
  ASSERT_EQ(ask_only->size(), 1u);
  EXPECT_EQ((*ask_only)[0].root, nullptr);
  EXPECT_EQ((*ask_only)[0].source, "supplied chain");
  // The certificate table adds its own candidate (with its ARK) after the supplied chain.
  auto table = abi::ParseCertTable(s.CertTable(abi::SigningKey::kVcek));
  ASSERT_TRUE(table.ok()) << table.status();
  auto both = SuppliedChainCandidates(s.AskPem(), *table);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[1].source, "certificate table");
  EXPECT_NE((*both)[0].root, nullptr);  // the table's ARK completes the supplied ASK
  EXPECT_THAT(SuppliedChainCandidates(s.AskPem() + s.ArkPem() + s.ArkPem(), {}).status().message(),
              HasSubstr("chain has 3 certificates"));
  EXPECT_THAT(SuppliedChainCandidates("-----BEGIN nothing", {}).status().message(), HasSubstr("--chain: "));
}

TEST(VerifyStepsTest, FirstVerifiedChain) {
  auto& s = sim::SharedTestSigner(abi::Product::kMilan);
  auto leaf = certs::LoadCertificate(s.EndorsementDer(abi::SigningKey::kVcek));
  ASSERT_TRUE(leaf.ok());
  certs::TrustConfig trust;
  ASSERT_TRUE(certs::AddInsecureExtraRootsPem(s.ArkPem(), trust).ok());
  EXPECT_EQ(FirstVerifiedChain(leaf->get(), {}, k2025, trust, absl::OkStatus()).status().code(),
            absl::StatusCode::kNotFound);
  auto candidates = SuppliedChainCandidates(s.AskPem(), abi::CertTable{});
  ASSERT_TRUE(candidates.ok());
  EXPECT_THAT(FirstVerifiedChain(leaf->get(), *candidates, k2025, trust, absl::OkStatus()).status().message(),
              HasSubstr("no ARK for the supplied chain"));
  EXPECT_EQ(
      FirstVerifiedChain(leaf->get(), *candidates, k2025, trust, absl::UnavailableError("kds down")).status().code(),
      absl::StatusCode::kUnavailable);
  auto full = SuppliedChainCandidates(s.AskPem() + s.ArkPem(), abi::CertTable{});
  ASSERT_TRUE(full.ok());
  auto verified = FirstVerifiedChain(leaf->get(), *full, k2025, trust, absl::OkStatus());
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_FALSE(verified->root_is_pinned_amd);
  // Not trusted: the error names the candidate's source.
  EXPECT_THAT(FirstVerifiedChain(leaf->get(), *full, k2025, {}, absl::OkStatus()).status().message(),
              HasSubstr("supplied chain: root"));
}

}  // namespace
}  // namespace spirecvm::sevsnp::verify
