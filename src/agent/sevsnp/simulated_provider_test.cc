#include "agent/sevsnp/simulated_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sevsnp/test_util.h"
#include "attestation/sevsnp/sim/test_signers.h"
#include "attestation/sevsnp/verify/verifier.h"
#include "common/encoding.h"

namespace spirecvm::agent::snp {
namespace {

using ::testing::HasSubstr;
namespace sabi = sevsnp::abi;
namespace verify = sevsnp::verify;

std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> Signer() {
  auto& s = sevsnp::sim::SharedTestSigner(sabi::Product::kMilan);
  return std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner>(&s, [](const sevsnp::sim::TestOnlyAmdSigner*) {});
}

ReportData Rd() {
  ReportData rd{};
  for (size_t i = 0; i < rd.size(); ++i) rd[i] = static_cast<uint8_t>(i + 7);
  return rd;
}
std::string RdString() { return std::string(reinterpret_cast<const char*>(Rd().data()), 64); }

// The server's verifier, trusting the simulator's ARK as an insecure extra root and nothing else.
absl::StatusOr<verify::VerifiedReport> VerifyWithSimRoot(const Report& r, const sevsnp::sim::TestOnlyAmdSigner& s,
                                                         std::optional<std::string> expected = RdString()) {
  verify::VerifierOptions opts;
  if (absl::Status st = sevsnp::certs::AddInsecureExtraRootsPem(s.ArkPem(), opts.trust); !st.ok()) return st;
  auto v = verify::Verifier::Create(std::move(opts));
  if (!v.ok()) return v.status();
  verify::VerifyRequest req;
  req.report = r.report;
  req.cert_table = r.cert_table;
  req.now = absl::Now();
  req.expected_report_data = std::move(expected);
  req.product_fallback = sabi::Product::kMilan;
  return (*v)->Verify(req);
}

std::unique_ptr<SimulatedProvider> Make(SimulatorOptions o) {
  auto p = SimulatedProvider::CreateWithSigner(std::move(o), Signer());
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

TEST(SimulatedProvider, DefaultsLookLikeAwsAndVerify) {
  auto p = Make({});
  ASSERT_TRUE(p);
  auto r = p->GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->report.size(), sabi::kReportSize);
  EXPECT_FALSE(r->cert_table.empty());
  auto v = VerifyWithSimRoot(*r, p->signer());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->signing_key, sabi::SigningKey::kVlek);
  EXPECT_EQ(v->report.version, 3u);
  EXPECT_EQ(v->report.policy, 0x30000u);
  EXPECT_EQ(v->report.vmpl, 0u);
  EXPECT_TRUE(v->report.chip_id_is_zero());
  EXPECT_EQ(v->MeasurementHex(), kDefaultMeasurementHex);
  EXPECT_FALSE(v->root_is_pinned_amd);
}

TEST(SimulatedProvider, ReportIdIsStablePerProviderAndDiffersAcrossLaunches) {
  auto a = Make({});
  auto b = Make({});
  auto a1 = a->GetReport(Rd()), a2 = a->GetReport(Rd()), b1 = b->GetReport(Rd());
  ASSERT_TRUE(a1.ok() && a2.ok() && b1.ok());
  const size_t off = sabi::off::kReportId;
  EXPECT_EQ(a1->report.substr(off, 32), a2->report.substr(off, 32));
  EXPECT_NE(a1->report.substr(off, 32), b1->report.substr(off, 32));
}

TEST(SimulatedProvider, ConfiguredFieldsAppearInTheVerifiedReport) {
  SimulatorOptions o;
  std::array<uint8_t, 48> m{};
  m.fill(0x11);
  o.measurement = m;
  std::array<uint8_t, 32> id{};
  id.fill(0x22);
  o.report_id = id;
  std::array<uint8_t, 32> hd{};
  hd.fill(0x33);
  o.host_data = hd;
  o.vmpl = 1;
  o.guest_svn = 9;
  o.debug = true;
  o.signing_key = sabi::SigningKey::kVcek;
  auto p = Make(o);
  auto r = p->GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  auto v = VerifyWithSimRoot(*r, p->signer());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->signing_key, sabi::SigningKey::kVcek);
  EXPECT_EQ(v->MeasurementHex(), std::string(96, '1'));
  EXPECT_EQ(v->ReportIdHex(), HexEncode(std::string(32, '\x22')));
  EXPECT_EQ(v->HostDataHex(), HexEncode(std::string(32, '\x33')));
  EXPECT_EQ(v->report.vmpl, 1u);
  EXPECT_EQ(v->report.guest_svn, 9u);
  EXPECT_NE(v->report.policy & sabi::policy_bit::kDebug, 0u);
  EXPECT_FALSE(v->report.chip_id_is_zero());  // a VCEK report carries the CHIP_ID
}

TEST(SimulatedProvider, VersionTwoVerifiesWithAProductFallback) {
  SimulatorOptions o;
  o.version = 2;
  auto p = Make(o);
  auto r = p->GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  auto v = VerifyWithSimRoot(*r, p->signer());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->report.version, 2u);
}

TEST(SimulatedProvider, LowerTcbComesWithAMatchingEndorsement) {
  SimulatorOptions o;
  o.tcb = sabi::Tcb{.fmc = 0, .bl = 2, .tee = 0, .snp = 5, .ucode = 68};
  auto p = Make(o);
  auto r = p->GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  auto v = VerifyWithSimRoot(*r, p->signer());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->reported_tcb, *o.tcb);
  EXPECT_EQ(v->current_tcb, *o.tcb);
}

TEST(SimulatedProvider, EachCorruptionIsCaughtByTheVerifier) {
  for (Corruption c : {Corruption::kSignature, Corruption::kReportData, Corruption::kMeasurement,
                       Corruption::kCertTable, Corruption::kTruncate, Corruption::kSigningKey}) {
    SCOPED_TRACE(std::string(CorruptionName(c)));
    SimulatorOptions o;
    o.corrupt = c;
    auto p = Make(o);
    auto r = p->GetReport(Rd());
    ASSERT_TRUE(r.ok()) << r.status();
    auto v = VerifyWithSimRoot(*r, p->signer());
    EXPECT_FALSE(v.ok());
    if (c == Corruption::kReportData) {
      EXPECT_TRUE(absl::IsPermissionDenied(v.status())) << v.status();
      // The signature itself is valid: only the binding is wrong.
      EXPECT_TRUE(VerifyWithSimRoot(*r, p->signer(), std::nullopt).ok());
    }
    if (c == Corruption::kTruncate) {
      EXPECT_EQ(r->report.size(), 1000u);
    }
    if (c == Corruption::kCertTable) {
      EXPECT_EQ(r->cert_table, "");
    }
  }
}

TEST(SimulatedProvider, UntrustedWithoutTheSimulatorRoot) {
  auto p = Make({});
  auto r = p->GetReport(Rd());
  ASSERT_TRUE(r.ok());
  auto v = verify::Verifier::Create({});
  ASSERT_TRUE(v.ok());
  verify::VerifyRequest req;
  req.report = r->report;
  req.cert_table = r->cert_table;
  req.now = absl::Now();
  EXPECT_FALSE((*v)->Verify(req).ok());
}

TEST(SimulatedProvider, LoadsTheHierarchyFromItsDirectory) {
  testing::ScopedTempDir dir;
  ASSERT_TRUE(Signer()->Save(dir.path()).ok());
  SimulatorOptions o;
  o.dir = dir.path();
  auto p = SimulatedProvider::Create(o);
  ASSERT_TRUE(p.ok()) << p.status();
  auto r = (*p)->GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  // Same hierarchy as the one saved: the saved ARK verifies it.
  auto v = VerifyWithSimRoot(*r, *Signer());
  EXPECT_TRUE(v.ok()) << v.status();
}

TEST(SimulatedProvider, NeedsADirectory) {
  auto p = SimulatedProvider::Create({});
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("simulator dir"));
}

TEST(SimulatedProvider, CorruptionNames) {
  for (std::string_view n :
       {"none", "signature", "report_data", "measurement", "cert_table", "truncate", "signing_key"}) {
    auto c = ParseCorruption(n);
    ASSERT_TRUE(c.ok()) << n;
    EXPECT_EQ(CorruptionName(*c), n);
  }
  EXPECT_FALSE(ParseCorruption("everything").ok());
  EXPECT_EQ(HexDecode(kDefaultMeasurementHex)->size(), 48u);
}

}  // namespace
}  // namespace spirecvm::agent::snp
