// Every failure path of aws_iid + SEV-SNP attestation, with a test "AWS" key and the test-only AMD-like signer.
#include "server/nodeattest/aws_iid_attestor.h"

#include <filesystem>
#include <functional>

#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "attestation/sevsnp_binding/binding.h"
#include "common/files.h"
#include "crypto/keys.h"
#include "cvm/node_facts.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::server {
namespace {

namespace sim = sevsnp::sim;
namespace abi = sevsnp::abi;

class FuncChannel final : public ChallengeChannel {
 public:
  std::function<absl::StatusOr<std::string>(const std::string&)> fn;
  int challenges = 0;
  absl::StatusOr<std::string> Challenge(std::string_view c) override {
    challenges++;
    return fn(std::string(c));
  }
};

class AwsIidAttestorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A VLEK as AWS's carry: csp_id names AWS and the region of the test IIDs.
    auto s = sim::TestOnlyAmdSigner::Create({.rsa_bits = 2048, .csp_id = "CN=cc-us-east-1.amazonaws.com"});
    ASSERT_TRUE(s.ok()) << s.status();
    amd_ = s->release();
    auto other = sim::TestOnlyAmdSigner::Create({.rsa_bits = 2048, .csp_id = "CN=cc-us-east-1.amazonaws.com"});
    ASSERT_TRUE(other.ok());
    other_amd_ = other->release();
    auto aws = awsiid::testing::TestAwsSigner::Generate();
    ASSERT_TRUE(aws.ok()) << aws.status();
    aws_ = new awsiid::testing::TestAwsSigner(std::move(*aws));
  }
  static void TearDownTestSuite() {
    delete amd_;
    delete other_amd_;
    delete aws_;
  }

  void SetUp() override {
    std::string t = std::filesystem::temp_directory_path() / "cvm-awsiid-XXXXXX";
    dir_ = mkdtemp(t.data());
    ASSERT_TRUE(aws_->WriteCertsDir(dir_ + "/certs", "us-east-1").ok());
    ASSERT_TRUE(files::WriteFileAtomic(dir_ + "/ark.pem", amd_->ArkPem(), 0644).ok());
    auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock_);
    ASSERT_TRUE(ds.ok());
    ds_ = std::move(*ds);
    cfg_.iid.aws_certificates_path = dir_ + "/certs";
    cfg_.iid.account_ids = {"123456789012"};
    cfg_.sev.enabled = true;
    cfg_.sev.required = true;
    cfg_.sev.insecure_extra_roots = {dir_ + "/ark.pem"};
    document_ = awsiid::testing::MakeDocument({});
    key_ = std::move(*crypto::GenerateKey(crypto::KeyType::kEcP256));
    spki_ = *crypto::PublicKeyToDer(key_.get());
    report_ = amd_->DefaultReport();
    report_.measurement.fill(0xAB);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // As spire-cvm's agent sends it (announcing the SEV-SNP challenge), or as SPIRE's agent does (announce = false).
  std::string Payload(const std::string& doc, bool announce = true) {
    awsiid::AttestationPayload p{doc, *awsiid::testing::SignRsa2048(*aws_, doc), ""};
    p.sev_snp_challenge = announce;
    return p.ToJson();
  }
  std::string SpirePayload() { return Payload(document_, false); }

  // A genuine answer: the report binds the challenge's nonce, this CSR key and this document.
  std::string Answer(const std::string& challenge, const abi::Report& fields, const sim::TestOnlyAmdSigner& signer,
                     std::string spki = "", std::string doc = "", std::string nonce_override = "") {
    auto c = sevsnp::SevSnpChallenge::FromJson(challenge);
    EXPECT_TRUE(c.ok()) << c.status();
    abi::Report r = fields;
    std::string rd = sevsnp::SevSnpReportData(nonce_override.empty() ? c->nonce : nonce_override,
                                              spki.empty() ? spki_ : spki, doc.empty() ? document_ : doc);
    std::copy(rd.begin(), rd.end(), r.report_data.begin());
    auto signed_report = signer.SignReport(r, signing_key_);
    EXPECT_TRUE(signed_report.ok()) << signed_report.status();
    return sevsnp::SevSnpAnswer{*signed_report, signer.CertTable(signing_key_), ""}.ToJson();
  }

  absl::StatusOr<AttestationResult> Attest(std::function<absl::StatusOr<std::string>(const std::string&)> answer,
                                           std::string payload = "") {
    auto att = NewAwsIidAttestor(cfg_, *spiffe::TrustDomain::Parse("example.org"), clock_, rnd_);
    if (!att.ok()) return att.status();
    channel_.fn = std::move(answer);
    return (*att)->Attest({payload.empty() ? Payload(document_) : payload, spki_}, channel_);
  }
  auto Good() {
    return [this](const std::string& c) -> absl::StatusOr<std::string> { return Answer(c, report_, *amd_); };
  }
  static bool Has(const AttestationResult& r, const std::string& value) {
    for (auto& s : r.selectors)
      if (s.type == "aws_iid" && s.value == value) return true;
    return false;
  }
  void ExpectRefused(const absl::StatusOr<AttestationResult>& r, absl::StatusCode code, const std::string& substr) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_NE(std::string(r.status().message()).find(substr), std::string::npos) << r.status();
  }

  static sim::TestOnlyAmdSigner* amd_;
  static sim::TestOnlyAmdSigner* other_amd_;
  static awsiid::testing::TestAwsSigner* aws_;
  std::string dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  SystemRandom& rnd_ = SystemRandom::Get();
  std::unique_ptr<datastore::DataStore> ds_;
  AwsIidAttestorConfig cfg_;
  std::string document_;
  ssl::EvpPkeyPtr key_;
  std::string spki_;
  abi::Report report_;
  abi::SigningKey signing_key_ = abi::SigningKey::kVlek;
  FuncChannel channel_;
};
sim::TestOnlyAmdSigner* AwsIidAttestorTest::amd_ = nullptr;
sim::TestOnlyAmdSigner* AwsIidAttestorTest::other_amd_ = nullptr;
awsiid::testing::TestAwsSigner* AwsIidAttestorTest::aws_ = nullptr;

TEST_F(AwsIidAttestorTest, GenuineInstanceAndReportYieldTheAgentIdAndSelectors) {
  auto r = Attest(Good());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent_id.ToString(),
            "spiffe://example.org/spire/agent/aws_iid/123456789012/us-east-1/i-0123456789abcdef0");
  EXPECT_TRUE(Has(*r, "measurements:" + std::string(96, 'a').replace(0, 96, [] {
    std::string s;
    for (int i = 0; i < 48; i++) s += "ab";
    return s;
  }())));
  EXPECT_TRUE(Has(*r, "account_id:123456789012"));
  EXPECT_TRUE(Has(*r, "region:us-east-1"));
  EXPECT_TRUE(Has(*r, "instance:id:i-0123456789abcdef0"));
  EXPECT_TRUE(Has(*r, "sev_snp:signing_key:vlek"));
  EXPECT_TRUE(Has(*r, "sev_snp:product:milan"));
  EXPECT_TRUE(Has(*r, "sev_snp:policy:debug:false"));
  EXPECT_TRUE(Has(*r, "sev_snp:vmpl:0"));
  EXPECT_TRUE(Has(*r, "sev_snp:tcb:snp:8"));
  EXPECT_TRUE(r->can_reattest);
  EXPECT_EQ(channel_.challenges, 1);
}

TEST_F(AwsIidAttestorTest, AReportYieldsTheNodeFactsTheSvidsCarry) {
  auto r = Attest(Good());
  ASSERT_TRUE(r.ok()) << r.status();
  auto f = cvm::DecodeNodeFacts(r->facts);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->attestation_kind, "aws_iid+sev_snp");
  EXPECT_EQ(f->measurement, std::string(48, '\xab'));
  EXPECT_EQ(f->signing_key, cvm::SigningKeyKind::kVlek);
  EXPECT_EQ(f->csp_id, "CN=cc-us-east-1.amazonaws.com");
  EXPECT_EQ(f->product, "Milan");
  EXPECT_EQ(f->aws_account_id, "123456789012");
  EXPECT_EQ(f->aws_region, "us-east-1");
  EXPECT_EQ(f->report_id, std::string(reinterpret_cast<const char*>(report_.report_id.data()), 32));
  EXPECT_EQ(f->attested_at, clock_.Now());
  EXPECT_FALSE(f->policy_debug);
  // Workload SVIDs carry them only when configured, and never under an excluded prefix.
  auto att = NewAwsIidAttestor(cfg_, *spiffe::TrustDomain::Parse("example.org"), clock_, rnd_);
  ASSERT_TRUE(att.ok());
  EXPECT_FALSE((*att)->FactsInWorkloadSvids("spiffe://example.org/w"));
  cfg_.sev.svid_evidence = true;
  cfg_.sev.svid_evidence_exclude = {"spiffe://example.org/legacy/"};
  att = NewAwsIidAttestor(cfg_, *spiffe::TrustDomain::Parse("example.org"), clock_, rnd_);
  ASSERT_TRUE(att.ok());
  EXPECT_TRUE((*att)->FactsInWorkloadSvids("spiffe://example.org/w"));
  EXPECT_FALSE((*att)->FactsInWorkloadSvids("spiffe://example.org/legacy/db"));
}

TEST_F(AwsIidAttestorTest, WithoutAReportThereAreNoFacts) {
  cfg_.sev.required = false;
  auto r = Attest([](const std::string&) -> absl::StatusOr<std::string> {
    return sevsnp::SevSnpAnswer{"", "", "none here"}.ToJson();
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->facts.empty());
}

TEST_F(AwsIidAttestorTest, ReplayedReportWithAnOldNonceIsRefused) {
  std::string old_nonce(32, '\x07');
  auto r = Attest([&](const std::string& c) -> absl::StatusOr<std::string> {
    return Answer(c, report_, *amd_, "", "", old_nonce);
  });
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "REPORT_DATA");
}

TEST_F(AwsIidAttestorTest, ReportBoundToAnotherCsrKeyIsRefused) {
  auto other = crypto::GenerateKey(crypto::KeyType::kEcP256);
  std::string other_spki = *crypto::PublicKeyToDer(other->get());
  auto r = Attest(
      [&](const std::string& c) -> absl::StatusOr<std::string> { return Answer(c, report_, *amd_, other_spki); });
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "REPORT_DATA");
}

TEST_F(AwsIidAttestorTest, ReportBoundToAnotherIidIsRefused) {
  awsiid::testing::DocumentFields other_fields;
  other_fields.instance_id = "i-0fedcba9876543210";
  std::string other_doc = awsiid::testing::MakeDocument(other_fields);
  auto r = Attest(
      [&](const std::string& c) -> absl::StatusOr<std::string> { return Answer(c, report_, *amd_, "", other_doc); });
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "REPORT_DATA");
}

TEST_F(AwsIidAttestorTest, DebugPolicyIsRefusedByDefault) {
  report_.policy |= abi::policy_bit::kDebug;
  auto r = Attest(Good());
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "DEBUG");
}

TEST_F(AwsIidAttestorTest, TcbBelowTheMinimumIsRefused) {
  cfg_.sev.policy.min_reported_tcb = abi::Tcb{.bl = 3, .tee = 0, .snp = 20, .ucode = 115};
  auto r = Attest(Good());
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "policy");
}

TEST_F(AwsIidAttestorTest, MeasurementNotAllowedIsRefused) {
  cfg_.sev.policy.allowed_measurements = {std::string(96, '0')};
  auto r = Attest(Good());
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "MEASUREMENT");
}

TEST_F(AwsIidAttestorTest, ReportFromAChainTheServerDoesNotTrustIsRefused) {
  auto r = Attest([&](const std::string& c) -> absl::StatusOr<std::string> { return Answer(c, report_, *other_amd_); });
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "sev_snp: report rejected");
  cfg_.sev.insecure_extra_roots.clear();  // without the insecure option, even the simulator's own chain is untrusted
  auto r2 = Attest(Good());
  ExpectRefused(r2, absl::StatusCode::kPermissionDenied, "sev_snp: report rejected");
}

TEST_F(AwsIidAttestorTest, NoReportWhenRequiredIsRefusedWithTheAgentsReason) {
  auto r = Attest([](const std::string&) -> absl::StatusOr<std::string> {
    return sevsnp::SevSnpAnswer{"", "", "no SEV-SNP guest device: is this an SEV-SNP VM?"}.ToJson();
  });
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "is this an SEV-SNP VM?");
}

TEST_F(AwsIidAttestorTest, NoReportWhenNotRequiredFallsBackToTrustOnFirstUse) {
  cfg_.sev.required = false;
  auto r = Attest([](const std::string&) -> absl::StatusOr<std::string> {
    return sevsnp::SevSnpAnswer{"", "", "none here"}.ToJson();
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->can_reattest);
  for (auto& s : r->selectors) EXPECT_EQ(s.value.find("measurements:"), std::string::npos);
}

// A SPIRE agent's plain aws_iid payload (no "sev_snp_challenge"): never challenged, which it could not answer.
TEST_F(AwsIidAttestorTest, WithoutTheAnnouncementSevSnpRequiredIsRefusedWithoutAChallenge) {
  ASSERT_EQ(SpirePayload().find("sev_snp"), std::string::npos);
  auto r = Attest(Good(), SpirePayload());
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "SEV-SNP evidence is required");
  EXPECT_NE(std::string(r.status().message()).find("\"sev_snp_challenge\""), std::string::npos) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("i-0123456789abcdef0"), std::string::npos) << r.status();
  EXPECT_EQ(channel_.challenges, 0);
}

TEST_F(AwsIidAttestorTest, WithoutTheAnnouncementSevSnpNotRequiredAdmitsOnTheIidAlone) {
  cfg_.sev.required = false;
  auto r = Attest(Good(), SpirePayload());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(channel_.challenges, 0);
  EXPECT_EQ(r->agent_id.ToString(),
            "spiffe://example.org/spire/agent/aws_iid/123456789012/us-east-1/i-0123456789abcdef0");
  EXPECT_TRUE(Has(*r, "instance:id:i-0123456789abcdef0"));
  EXPECT_TRUE(Has(*r, "account_id:123456789012"));
  for (auto& s : r->selectors) {
    EXPECT_EQ(s.value.rfind("sev_snp:", 0), std::string::npos) << s.value;
    EXPECT_EQ(s.value.rfind("measurements:", 0), std::string::npos) << s.value;
  }
  EXPECT_FALSE(r->can_reattest);  // trust on first use, as without sev_snp
}

TEST_F(AwsIidAttestorTest, AnExplicitFalseAnnouncementIsTheSameAsNone) {
  auto r = Attest(Good(), R"({"document":)" + nlohmann::json(document_).dump() + R"(,"rsa2048":)" +
                              nlohmann::json(*awsiid::testing::SignRsa2048(*aws_, document_)).dump() +
                              R"(,"sev_snp_challenge":false})");
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "SEV-SNP evidence is required");
  EXPECT_EQ(channel_.challenges, 0);
}

TEST_F(AwsIidAttestorTest, AMalformedAnnouncementIsInvalidArgumentNamingIt) {
  std::string payload = Payload(document_);
  payload.replace(payload.find("\"sev_snp_challenge\":true"), 24, "\"sev_snp_challenge\":\"yes\"");
  auto r = Attest(Good(), payload);
  ExpectRefused(r, absl::StatusCode::kInvalidArgument, "\"sev_snp_challenge\" must be a boolean");
  EXPECT_EQ(channel_.challenges, 0);
}

// spire-cvm's agent attesting to a server without sev_snp (or to SPIRE's): the announcement is ignored.
TEST_F(AwsIidAttestorTest, TheAnnouncementIsIgnoredWithoutSevSnp) {
  cfg_.sev = SevSnpSettings{};
  auto r = Attest(Good());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(channel_.challenges, 0);
  EXPECT_FALSE(Has(*r, "sev_snp:verified:true"));
}

TEST_F(AwsIidAttestorTest, AReportIsStillVerifiedWhenNotRequired) {
  cfg_.sev.required = false;
  report_.policy |= abi::policy_bit::kDebug;
  ExpectRefused(Attest(Good()), absl::StatusCode::kPermissionDenied, "DEBUG");
}

TEST_F(AwsIidAttestorTest, MalformedReportAndAnswerAreInvalidArgument) {
  ExpectRefused(Attest([](const std::string&) -> absl::StatusOr<std::string> {
                  return sevsnp::SevSnpAnswer{std::string(100, 'x'), "", ""}.ToJson();
                }),
                absl::StatusCode::kInvalidArgument, "sev_snp");
  ExpectRefused(Attest([](const std::string&) -> absl::StatusOr<std::string> { return std::string("{not json"); }),
                absl::StatusCode::kInvalidArgument, "sev_snp");
}

TEST_F(AwsIidAttestorTest, OversizedPayloadsAreRefused) {
  ExpectRefused(Attest(Good(), std::string(awsiid::kMaxPayloadBytes + 1, 'x')), absl::StatusCode::kInvalidArgument,
                "too large");
  ExpectRefused(Attest([](const std::string&) -> absl::StatusOr<std::string> {
                  return std::string(sevsnp::kMaxAnswerBytes + 1, ' ');
                }),
                absl::StatusCode::kInvalidArgument, "limit");
}

TEST_F(AwsIidAttestorTest, TamperedOrForeignDocumentIsRefusedBeforeAnyChallenge) {
  std::string payload = Payload(document_);
  auto pos = payload.find("123456789012");
  payload[pos] = '9';  // one byte of the document as carried in the payload
  ExpectRefused(Attest(Good(), payload), absl::StatusCode::kInvalidArgument, "aws_iid");
  EXPECT_EQ(channel_.challenges, 0);
  cfg_.iid.account_ids = {"000000000000"};
  ExpectRefused(Attest(Good()), absl::StatusCode::kPermissionDenied, "aws_iid");
}

TEST_F(AwsIidAttestorTest, NonceIsSingleUseAndExpires) {
  cfg_.sev.nonce_ttl = absl::Seconds(30);
  auto r = Attest([&](const std::string& c) -> absl::StatusOr<std::string> {
    clock_.Advance(absl::Seconds(31));  // the agent answered too late
    return Answer(c, report_, *amd_);
  });
  ExpectRefused(r, absl::StatusCode::kPermissionDenied, "expired");
}

// What the node service does with a result: the one conditional admission write.
absl::Status Admit(datastore::DataStore& ds, const AttestationResult& r) {
  datastore::AttestedNode n;
  n.spiffe_id = r.agent_id.ToString();
  n.attestation_type = "aws_iid";
  n.selectors = r.selectors;
  n.can_reattest = r.can_reattest;
  n.launch_id = r.launch_id;
  return ds.AdmitAttestedNode(n);
}

TEST_F(AwsIidAttestorTest, SecondAttestationOnlyFromTheSameGuestLaunch) {
  auto first = Attest(Good());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->can_reattest);
  EXPECT_EQ(first->launch_id.size(), 64u);  // the REPORT_ID, hex
  EXPECT_TRUE(Has(*first, "sev_snp:report_id:" + first->launch_id));
  ASSERT_TRUE(Admit(*ds_, *first).ok());
  // Same launch (same REPORT_ID): admitted again.
  auto again = Attest(Good());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->can_reattest);
  EXPECT_TRUE(Admit(*ds_, *again).ok());
  // Another launch of the same instance ID (a new REPORT_ID, e.g. a guest holding a copy of the IID): refused.
  report_.report_id.fill(0x42);
  auto other = Attest(Good());
  ASSERT_TRUE(other.ok()) << other.status();
  auto st = Admit(*ds_, *other);
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(std::string(st.message()).find("another launch"), std::string::npos) << st;
  // Re-attestation switched off: even the same launch is refused.
  cfg_.sev.allow_reattestation = false;
  cfg_.sev.reattest_interval = absl::Hours(1);
  report_ = amd_->DefaultReport();
  report_.measurement.fill(0xAB);
  auto off = Attest(Good());
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->can_reattest);
  EXPECT_FALSE(Admit(*ds_, *off).ok());
}

TEST_F(AwsIidAttestorTest, WithoutSevSnpASecondAttestationOfTheSameInstanceIsRefused) {
  cfg_.sev = SevSnpSettings{};  // plain aws_iid: no challenge, trust on first use
  auto first = Attest(Good());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(channel_.challenges, 0);
  EXPECT_FALSE(first->can_reattest);
  EXPECT_EQ(first->launch_id, "");
  ASSERT_TRUE(Admit(*ds_, *first).ok());
  auto again = Attest(Good());
  ASSERT_TRUE(again.ok()) << again.status();
  auto st = Admit(*ds_, *again);
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(std::string(st.message()).find("already attested"), std::string::npos) << st;
}

// docs/security.md finding 1: the report must come from AWS in the IID's region.
TEST_F(AwsIidAttestorTest, AVcekReportIsRefusedUnlessAllowed) {
  signing_key_ = abi::SigningKey::kVcek;
  ExpectRefused(Attest(Good()), absl::StatusCode::kPermissionDenied, "VCEK");
  cfg_.sev.allow_vcek = true;
  auto r = Attest(Good());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Has(*r, "sev_snp:signing_key:vcek"));
}

TEST_F(AwsIidAttestorTest, AVlekOfAnotherRegionOrProviderIsRefused) {
  for (const char* csp : {"CN=cc-eu-west-1.amazonaws.com", "CN=simulated.spire-cvm.test", "cc-us-east-1"}) {
    auto s = sim::TestOnlyAmdSigner::Create({.rsa_bits = 2048, .csp_id = csp});
    ASSERT_TRUE(s.ok()) << s.status();
    const std::string ark = dir_ + "/other-ark.pem";
    ASSERT_TRUE(files::WriteFileAtomic(ark, (*s)->ArkPem(), 0644).ok());
    cfg_.sev.insecure_extra_roots = {dir_ + "/ark.pem", ark};
    auto r = Attest([&](const std::string& c) -> absl::StatusOr<std::string> { return Answer(c, report_, **s); });
    ASSERT_FALSE(r.ok()) << csp;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
    EXPECT_NE(std::string(r.status().message()).find("CN=cc-us-east-1.amazonaws.com"), std::string::npos) << r.status();
  }
  EXPECT_EQ(AwsVlekCspId("eu-west-1"), "CN=cc-eu-west-1.amazonaws.com");
}

TEST_F(AwsIidAttestorTest, SevSnpWithoutAccountIdsIsAConfigurationError) {
  cfg_.iid.account_ids.clear();
  auto st = Attest(Good()).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(std::string(st.message()).find("account_ids"), std::string::npos) << st;
  auto body = hcl::Parse(R"(
aws_certificates_path = "/x"
sev_snp {
  insecure_extra_roots = ["/sim/ark.pem"]
}
)",
                         "t.conf");
  ASSERT_TRUE(body.ok()) << body.status();
  auto sec = config::Section::FromBody(*body, "plugin_data", "t.conf");
  ParseAwsIidAttestorConfig(sec);
  auto parsed = sec.Finish();
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(std::string(parsed.message()).find("account_ids"), std::string::npos) << parsed;
  // Plain aws_iid (no sev_snp) keeps SPIRE's optional account_ids.
  cfg_.sev = SevSnpSettings{};
  EXPECT_TRUE(Attest(Good()).ok());
}

TEST_F(AwsIidAttestorTest, ReattestIntervalRules) {
  EXPECT_EQ(Attest(Good())->launch_id.size(), 64u);
  cfg_.sev.reattest_interval = absl::Hours(1);  // with re-attestation on: meaningless, refused
  EXPECT_EQ(CheckSevSnpSettings(cfg_).code(), absl::StatusCode::kInvalidArgument);
  cfg_.sev.allow_reattestation = false;
  EXPECT_TRUE(CheckSevSnpSettings(cfg_).ok());
  cfg_.sev.reattest_interval = absl::ZeroDuration();  // no re-attestation and no renewal: refused
  auto st = CheckSevSnpSettings(cfg_);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(st.message()).find("reattest_interval"), std::string::npos) << st;
  cfg_.sev.allow_reattestation = true;
  auto att = NewAwsIidAttestor(cfg_, *spiffe::TrustDomain::Parse("example.org"), clock_, rnd_);
  ASSERT_TRUE(att.ok()) << att.status();
  EXPECT_EQ((*att)->MaxEvidenceAge(), absl::ZeroDuration());
}

TEST_F(AwsIidAttestorTest, ConfigIsParsedStrictly) {
  auto body = hcl::Parse(R"(
aws_certificates_path = "/x"
account_ids = ["123456789012"]
sev_snp {
  required = true
  insecure_extra_roots = ["/sim/ark.pem"]
  policy {
    allow_debug = false
    min_reported_tcb = "3.0.8.115"
    allowed_measurements = ["AB"]
    allowed_report_versions = [2, 3, 5]
    alow_smt = true
  }
}
)",
                         "t.conf");
  ASSERT_TRUE(body.ok()) << body.status();
  auto sec = config::Section::FromBody(*body, "plugin_data", "t.conf");
  auto cfg = ParseAwsIidAttestorConfig(sec);
  auto st = sec.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("alow_smt"), std::string::npos) << st;
  EXPECT_TRUE(cfg.sev.required);
  ASSERT_TRUE(cfg.sev.policy.min_reported_tcb.has_value());
  EXPECT_EQ(cfg.sev.policy.min_reported_tcb->snp, 8);
  EXPECT_EQ(cfg.sev.policy.allowed_measurements, std::vector<std::string>{"ab"});
  EXPECT_EQ(cfg.sev.policy.allowed_report_versions, (std::vector<uint32_t>{2, 3, 5}));
}

TEST(AwsIidAttestorConfigTest, SpiresAwsApiKeysTurnTheChecksOn) {
  auto body = hcl::Parse(R"(
aws_certificates_path = "/x"
access_key_id = "AKID"
secret_access_key = "secret"
assume_role = "spire-delegate"
partition = "aws-us-gov"
skip_block_device = true
disable_instance_profile_selectors = true
verify_organization {
  management_account_id = "111122223333"
  assume_org_role = "org-reader"
  org_account_map_ttl = "5m"
}
)",
                         "t.conf");
  ASSERT_TRUE(body.ok()) << body.status();
  auto sec = config::Section::FromBody(*body, "plugin_data", "t.conf");
  auto cfg = ParseAwsIidAttestorConfig(sec);
  ASSERT_TRUE(sec.Finish().ok()) << sec.Finish();
  EXPECT_TRUE(cfg.describe_instances);
  EXPECT_EQ(cfg.aws.assume_role, "spire-delegate");
  EXPECT_EQ(cfg.aws.partition, "aws-us-gov");
  EXPECT_TRUE(cfg.aws.skip_block_device);
  EXPECT_TRUE(cfg.aws.disable_instance_profile_selectors);
  EXPECT_TRUE(cfg.aws.organization.enabled);
  EXPECT_EQ(cfg.aws.organization.assume_org_role, "org-reader");
  EXPECT_EQ(cfg.aws.organization.account_map_ttl, absl::Minutes(5));
}

TEST(AwsIidAttestorConfigTest, WithoutAwsKeysNoApiCallsAndBadValuesAreNamed) {
  auto body = hcl::Parse("aws_certificates_path = \"/x\"\n", "t.conf");
  ASSERT_TRUE(body.ok());
  auto sec = config::Section::FromBody(*body, "plugin_data", "t.conf");
  EXPECT_FALSE(ParseAwsIidAttestorConfig(sec).describe_instances);
  body = hcl::Parse("aws_certificates_path = \"/x\"\npartition = \"aws-eu\"\nverify_organization {\n}\n", "t.conf");
  ASSERT_TRUE(body.ok());
  auto bad = config::Section::FromBody(*body, "plugin_data", "t.conf");
  ParseAwsIidAttestorConfig(bad);
  auto st = bad.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("aws-eu"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("management_account_id"), std::string::npos) << st;
}

}  // namespace
}  // namespace spirecvm::server
