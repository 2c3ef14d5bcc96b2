#include "agent/nodeattest/aws_iid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "agent/catalog.h"
#include "agent/sevsnp/test_util.h"
#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/sevsnp/sim/test_signers.h"
#include "attestation/sevsnp/verify/verifier.h"
#include "attestation/sevsnp_binding/binding.h"
#include "common/encoding.h"
#include "common/hcl.h"
#include "crypto/keys.h"
#include "imds_emulator/imds_emulator.h"

namespace spirecvm::agent {
namespace {

using ::testing::HasSubstr;
namespace emu = spirecvm::imds_emulator;
namespace sabi = sevsnp::abi;

std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> SimSigner() {
  auto& s = sevsnp::sim::SharedTestSigner(sabi::Product::kMilan);
  return std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner>(&s, [](const sevsnp::sim::TestOnlyAmdSigner*) {});
}

class AwsIidAttestorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = awsiid::testing::TestAwsSigner::Generate();
    ASSERT_TRUE(s.ok()) << s.status();
    aws_signer_ = new awsiid::testing::TestAwsSigner(*std::move(s));
  }
  static void TearDownTestSuite() { delete aws_signer_; }

  void SetUp() override {
    content_.document = awsiid::testing::MakeDocument({});
    content_.rsa2048 = *awsiid::testing::SignRsa2048(*aws_signer_, content_.document);
    emu::Options o;
    o.content = content_;
    auto e = emu::ImdsEmulator::Start(o);
    ASSERT_TRUE(e.ok()) << e.status();
    emulator_ = *std::move(e);
    auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    ASSERT_TRUE(key.ok());
    key_.spki_der = *crypto::PublicKeyToDer(key->get());
    key_.csr_der = "csr";  // not used by this attestor
  }

  awsiid::ImdsClientOptions Imds() const {
    awsiid::ImdsClientOptions o;
    o.endpoint = emulator_->endpoint();
    o.max_attempts = 1;
    return o;
  }
  std::unique_ptr<AwsIidAttestor> Attestor(std::unique_ptr<snp::ReportProvider> provider) {
    auto a = AwsIidAttestor::Create(Imds(), std::move(provider));
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }
  static std::unique_ptr<snp::ReportProvider> Simulated(snp::SimulatorOptions o = {}) {
    auto p = snp::SimulatedProvider::CreateWithSigner(std::move(o), SimSigner());
    return p.ok() ? std::unique_ptr<snp::ReportProvider>(*std::move(p)) : nullptr;
  }
  static std::string Nonce(char fill = '\x5c') { return std::string(sevsnp::kNonceSize, fill); }

  // What the server does with an answer: parse, and verify the report against the REPORT_DATA it expects.
  absl::StatusOr<sevsnp::verify::VerifiedReport> ServerVerify(const std::string& answer_json, const std::string& nonce,
                                                              const std::string& document) {
    auto answer = sevsnp::SevSnpAnswer::FromJson(answer_json);
    if (!answer.ok()) return answer.status();
    if (answer->is_unavailable()) return absl::UnavailableError(answer->unavailable);
    sevsnp::verify::VerifierOptions opts;
    if (auto st = sevsnp::certs::AddInsecureExtraRootsPem(SimSigner()->ArkPem(), opts.trust); !st.ok()) return st;
    auto v = sevsnp::verify::Verifier::Create(std::move(opts));
    if (!v.ok()) return v.status();
    sevsnp::verify::VerifyRequest req;
    req.report = answer->report;
    req.cert_table = answer->cert_table;
    req.now = absl::Now();
    req.expected_report_data = sevsnp::SevSnpReportData(nonce, key_.spki_der, document);
    return (*v)->Verify(req);
  }

  static awsiid::testing::TestAwsSigner* aws_signer_;
  emu::Content content_;
  std::unique_ptr<emu::ImdsEmulator> emulator_;
  AttestationKeyInfo key_;
};
awsiid::testing::TestAwsSigner* AwsIidAttestorTest::aws_signer_ = nullptr;

TEST_F(AwsIidAttestorTest, PayloadThenChallengeAnswerTheServerAccepts) {
  auto a = Attestor(Simulated());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), "aws_iid");
  EXPECT_TRUE(a->CanReattest());
  auto session = a->Start(key_);
  ASSERT_TRUE(session.ok()) << session.status();
  auto payload = (*session)->Payload();
  ASSERT_TRUE(payload.ok()) << payload.status();
  auto parsed = awsiid::AttestationPayload::FromJson(*payload);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->document, content_.document);  // byte-exact
  EXPECT_EQ(parsed->rsa2048, content_.rsa2048);
  EXPECT_TRUE(parsed->sev_snp_challenge);  // the server may challenge this agent
  EXPECT_THAT(*payload, HasSubstr("\"sev_snp_challenge\":true"));

  const std::string nonce = Nonce();
  auto answer = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{nonce}.ToJson());
  ASSERT_TRUE(answer.ok()) << answer.status();
  auto v = ServerVerify(*answer, nonce, parsed->document);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->MeasurementHex(), snp::kDefaultMeasurementHex);
  EXPECT_EQ(v->signing_key, sabi::SigningKey::kVlek);
}

TEST_F(AwsIidAttestorTest, AnswerIsBoundToNonceKeyAndDocument) {
  auto a = Attestor(Simulated());
  auto session = a->Start(key_);
  ASSERT_TRUE(session.ok());
  auto payload = (*session)->Payload();
  ASSERT_TRUE(payload.ok());
  auto answer = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce()}.ToJson());
  ASSERT_TRUE(answer.ok());
  // Another nonce (replay), another key (relay), another document (splice): all refused.
  EXPECT_TRUE(absl::IsPermissionDenied(ServerVerify(*answer, Nonce('\x01'), content_.document).status()));
  AttestationKeyInfo saved = key_;
  key_.spki_der = *crypto::PublicKeyToDer(crypto::GenerateKey(crypto::KeyType::kEcP256)->get());
  EXPECT_TRUE(absl::IsPermissionDenied(ServerVerify(*answer, Nonce(), content_.document).status()));
  key_ = saved;
  EXPECT_TRUE(absl::IsPermissionDenied(ServerVerify(*answer, Nonce(), content_.document + " ").status()));
  EXPECT_TRUE(ServerVerify(*answer, Nonce(), content_.document).ok());
}

TEST_F(AwsIidAttestorTest, EachChallengeGetsAFreshReport) {
  auto a = Attestor(Simulated());
  auto session = a->Start(key_);
  ASSERT_TRUE((*session)->Payload().ok());
  auto a1 = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce('\x01')}.ToJson());
  auto a2 = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce('\x02')}.ToJson());
  ASSERT_TRUE(a1.ok() && a2.ok());
  EXPECT_TRUE(ServerVerify(*a1, Nonce('\x01'), content_.document).ok());
  EXPECT_TRUE(ServerVerify(*a2, Nonce('\x02'), content_.document).ok());
}

TEST_F(AwsIidAttestorTest, NoProviderAnswersUnavailable) {
  auto a = Attestor(nullptr);
  auto session = a->Start(key_);
  auto payload = (*session)->Payload();
  ASSERT_TRUE(payload.ok()) << payload.status();
  // Still announced: the server then hears why there is no report instead of a bare "no evidence".
  EXPECT_TRUE(awsiid::AttestationPayload::FromJson(*payload)->sev_snp_challenge);
  auto answer = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce()}.ToJson());
  ASSERT_TRUE(answer.ok()) << answer.status();
  auto parsed = sevsnp::SevSnpAnswer::FromJson(*answer);
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->unavailable, HasSubstr("\"none\""));
}

TEST_F(AwsIidAttestorTest, NoDeviceAnswersUnavailableWithTheReason) {
  snp::testing::ScopedTempDir dir;
  auto a = Attestor(std::make_unique<snp::AutoProvider>(dir.path() + "/tsm", dir.path() + "/sev-guest"));
  auto session = a->Start(key_);
  ASSERT_TRUE((*session)->Payload().ok());
  auto answer = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce()}.ToJson());
  ASSERT_TRUE(answer.ok()) << answer.status();
  auto parsed = sevsnp::SevSnpAnswer::FromJson(*answer);
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->unavailable, HasSubstr("no SEV-SNP guest device: is this an SEV-SNP VM?"));
}

TEST_F(AwsIidAttestorTest, BadChallengesAbortTheAttempt) {
  auto a = Attestor(Simulated());
  auto session = a->Start(key_);
  // Before the payload there is no document to bind.
  EXPECT_TRUE(
      absl::IsFailedPrecondition((*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce()}.ToJson()).status()));
  ASSERT_TRUE((*session)->Payload().ok());
  auto short_nonce = (*session)->AnswerChallenge(R"({"sev_snp_nonce":")" + Base64Encode(std::string(16, 'a')) + "\"}");
  EXPECT_TRUE(absl::IsInvalidArgument(short_nonce.status()));
  EXPECT_THAT(short_nonce.status().message(), HasSubstr("16 bytes"));
  EXPECT_FALSE((*session)->AnswerChallenge("garbage").ok());
  EXPECT_FALSE((*session)->AnswerChallenge(R"({"nonce":"AAAA"})").ok());
}

TEST_F(AwsIidAttestorTest, ImdsDownIsAnErrorNamingTheDocument) {
  emulator_->Stop();
  auto a = Attestor(nullptr);
  auto session = a->Start(key_);
  auto payload = (*session)->Payload();
  ASSERT_FALSE(payload.ok());
  EXPECT_THAT(payload.status().message(), HasSubstr("instance identity document"));
}

// Through the catalog, as the agent's configuration builds it: plugin_data from HCL, the simulated provider.
TEST_F(AwsIidAttestorTest, FromPluginDataWithTheSimulator) {
  snp::testing::ScopedTempDir dir;
  ASSERT_TRUE(SimSigner()->Save(dir.path()).ok());
  const std::string text = absl::StrCat(R"(plugin_data {
    ec2_metadata_endpoint = ")",
                                        emulator_->endpoint(), R"("
    sev_snp {
      report_provider = "simulated"
      simulator {
        dir = ")",
                                        dir.path(), R"("
        measurement = ")",
                                        std::string(96, 'e'), R"("
      }
    }
  })");
  auto body = hcl::Parse(text, "agent.conf");
  ASSERT_TRUE(body.ok()) << body.status();
  config::Section root = config::Section::FromBody(*body, "", "agent.conf");
  std::optional<config::Section> data = root.Child("plugin_data");
  ASSERT_TRUE(data.has_value());
  auto builder = NodeAttestors().Parse("aws_iid", *data);
  ASSERT_TRUE(builder.ok()) << builder.status();
  ASSERT_TRUE(root.Finish().ok());
  auto a = (*builder)(NodeAttestorDeps{});
  ASSERT_TRUE(a.ok()) << a.status();
  auto session = (*a)->Start(key_);
  ASSERT_TRUE((*session)->Payload().ok());
  auto answer = (*session)->AnswerChallenge(sevsnp::SevSnpChallenge{Nonce()}.ToJson());
  ASSERT_TRUE(answer.ok());
  auto v = ServerVerify(*answer, Nonce(), content_.document);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->MeasurementHex(), std::string(96, 'e'));
}

TEST(AwsIidConfig, DefaultsAndErrors) {
  auto body = hcl::Parse(R"(
    ec2_metadata_endpoint = "ftp://nope"
    region = "us-east-1"
    sev_snp {
      report_provider = "quantum"
    }
  )",
                         "agent.conf");
  ASSERT_TRUE(body.ok());
  config::Section pd = config::Section::FromBody(*body, "plugins.NodeAttestor \"aws_iid\".plugin_data", "agent.conf");
  ParseAwsIidConfig(pd);
  absl::Status st = pd.Finish();
  ASSERT_FALSE(st.ok());
  const std::string m(st.message());
  EXPECT_THAT(m, HasSubstr("ec2_metadata_endpoint"));
  EXPECT_THAT(m, HasSubstr("\"region\""));
  EXPECT_THAT(m, HasSubstr("unknown report provider \"quantum\""));

  auto empty = hcl::Parse("", "agent.conf");
  config::Section none = config::Section::FromBody(*empty, "pd", "agent.conf");
  AwsIidAgentConfig c = ParseAwsIidConfig(none);
  EXPECT_TRUE(none.Finish().ok());
  EXPECT_EQ(c.ec2_metadata_endpoint, "http://169.254.169.254");
  EXPECT_EQ(c.sev_snp.provider, "auto");
}

TEST(AwsIidConfig, ErrorsLandInTheWholeFilesReport) {
  auto body = hcl::Parse(R"(NodeAttestor "aws_iid" {
    plugin_data {
      sev_snp { report_provider = "tsm"  tsm_pth = "/x" }
    }
  })",
                         "agent.conf");
  ASSERT_TRUE(body.ok()) << body.status();
  config::Section root = config::Section::FromBody(*body, "plugins", "agent.conf");
  auto blocks = root.Blocks("NodeAttestor");
  ASSERT_EQ(blocks.size(), 1u);
  std::optional<config::Section> data = blocks[0].second.Child("plugin_data");
  ASSERT_TRUE(data.has_value());
  ASSERT_TRUE(NodeAttestors().Parse("aws_iid", *data).ok());
  absl::Status st = root.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("tsm_pth"));
}

}  // namespace
}  // namespace spirecvm::agent
