#include "attestation/awsiid/verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "attestation/awsiid/signature.h"
#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/testing/test_util.h"

namespace spirecvm::awsiid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

const absl::Time kRealPending = absl::FromCivil(absl::CivilSecond(2018, 5, 9, 12, 30, 58), absl::UTCTimeZone());

class RealVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::AwsVectorsDir();
    ASSERT_FALSE(dir_.empty()) << "AWS vectors missing under test/data/aws";
    payload_.document = Read("document");
    payload_.rsa2048 = Read("rsa2048");
    payload_.signature = Read("signature");
  }
  std::string Read(const std::string& name) { return testing::ReadFileOrDie(dir_ + "/iid/us-west-2-2018/" + name); }
  Config BaseConfig() {
    Config c;
    c.aws_certificates_path = dir_ + "/certs";
    c.account_ids = {"692406183521"};
    return c;
  }
  std::unique_ptr<Verifier> Make(Config c) {
    auto v = Verifier::Create(std::move(c));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : nullptr;
  }
  std::string dir_;
  AttestationPayload payload_;
};

TEST_F(RealVerifierTest, RealDocumentVerifiesWithAgentPathAndSelectors) {
  auto v = Make(BaseConfig());
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->warnings().empty());
  auto r = v->Verify(payload_, kRealPending + absl::Hours(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->verified_form, SignatureForm::kRsa2048);
  EXPECT_EQ(r->agent_path, "/spire/agent/aws_iid/692406183521/us-west-2/i-0a30e04d85e6f8793");
  EXPECT_THAT(r->selectors,
              ElementsAre(Selector{"aws_iid", "account_id:692406183521"}, Selector{"aws_iid", "region:us-west-2"},
                          Selector{"aws_iid", "az:us-west-2a"}, Selector{"aws_iid", "instance:id:i-0a30e04d85e6f8793"},
                          Selector{"aws_iid", "image:id:ami-6b8cef13"}, Selector{"aws_iid", "instance:type:t2.nano"}));
  EXPECT_EQ(r->document.raw, payload_.document);
}

TEST_F(RealVerifierTest, SignatureFormOnlyWhenConfigured) {
  AttestationPayload p = payload_;
  p.rsa2048.clear();
  auto strict = Make(BaseConfig());
  ASSERT_TRUE(strict);
  EXPECT_THAT(strict->Verify(p, kRealPending).status().message(),
              HasSubstr("the RSA `signature` form is not accepted (allow_signature_form is false)"));
  Config c = BaseConfig();
  c.allow_signature_form = true;
  auto lenient = Make(c);
  ASSERT_TRUE(lenient);
  auto r = lenient->Verify(p, kRealPending);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->verified_form, SignatureForm::kSignature);
  // A present but bad rsa2048 does not fall back to the weaker form.
  p.rsa2048 = EncodeBase64("garbage");
  EXPECT_FALSE(lenient->Verify(p, kRealPending).ok());
}

TEST_F(RealVerifierTest, OneByteChangeRejected) {
  auto v = Make(BaseConfig());
  ASSERT_TRUE(v);
  AttestationPayload p = payload_;
  p.document[p.document.find("172.31.46.215") + 12] = '6';
  auto r = v->Verify(p, kRealPending);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("signed content differs from the instance identity document"));
}

TEST_F(RealVerifierTest, DocumentClaimingAnotherRegionRejected) {
  // Same signature, document edited to claim us-east-1: the us-east-1 certificate is chosen by
  // the document's region, and the signature (made by the us-west-2 key) does not verify.
  auto v = Make(BaseConfig());
  ASSERT_TRUE(v);
  AttestationPayload p = payload_;
  p.document = absl::StrReplaceAll(p.document, {{"us-west-2", "us-east-1"}});
  auto r = v->Verify(p, kRealPending);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("does not verify"));
  EXPECT_THAT(r.status().message(), HasSubstr("region \"us-east-1\""));
}

TEST_F(RealVerifierTest, AccountNotOnAllowListRejected) {
  Config c = BaseConfig();
  c.account_ids = {"111111111111", "222222222222"};
  auto v = Make(c);
  ASSERT_TRUE(v);
  auto r = v->Verify(payload_, kRealPending);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "aws_iid: account 692406183521 (instance i-0a30e04d85e6f8793) is not in account_ids "
            "[111111111111, 222222222222]");
}

TEST_F(RealVerifierTest, EmptyAllowListAllowsAnyWithWarning) {
  Config c = BaseConfig();
  c.account_ids.clear();
  auto v = Make(c);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->allows_any_account());
  ASSERT_EQ(v->warnings().size(), 1u);
  EXPECT_THAT(v->warnings()[0], HasSubstr("ANY AWS account"));
  EXPECT_TRUE(v->Verify(payload_, kRealPending).ok());
}

TEST_F(RealVerifierTest, MaxDocumentAge) {
  Config c = BaseConfig();
  c.max_document_age = absl::Hours(24);
  auto v = Make(c);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->Verify(payload_, kRealPending + absl::Hours(23)).ok());
  auto r = v->Verify(payload_, kRealPending + absl::Hours(25));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(),
              HasSubstr("instance identity document of i-0a30e04d85e6f8793 is too old: pendingTime "
                        "2018-05-09T12:30:58Z is 25h ago, more than max_document_age 24h"));
}

TEST_F(RealVerifierTest, MissingRegionCertificateNamed) {
  TempDir tmp;
  testing::WriteFileOrDie(tmp.path() + "/rsa2048/us-east-1.pem",
                          testing::ReadFileOrDie(dir_ + "/certs/rsa2048/us-east-1.pem"));
  Config c = BaseConfig();
  c.aws_certificates_path = tmp.path();
  auto v = Make(c);
  ASSERT_TRUE(v);
  auto r = v->Verify(payload_, kRealPending);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "no AWS certificate for region \"us-west-2\" in "
            "aws_certificates_path " +
                tmp.path() + " (rsa2048/us-west-2.pem)");
}

TEST_F(RealVerifierTest, MalformedPayloadsRejected) {
  auto v = Make(BaseConfig());
  ASSERT_TRUE(v);
  AttestationPayload p = payload_;
  p.document = "{ not json";
  EXPECT_THAT(v->Verify(p, kRealPending).status().message(), HasSubstr("is not valid JSON"));
  p = payload_;
  p.rsa2048 = "%%%";
  EXPECT_THAT(v->Verify(p, kRealPending).status().message(), HasSubstr("rsa2048 signature is not valid base64"));
  p = payload_;
  p.rsa2048.clear();
  p.signature.clear();
  EXPECT_THAT(v->Verify(p, kRealPending).status().message(), HasSubstr("has no rsa2048 signature"));
}

// ---- payload JSON ----

TEST(AttestationPayloadTest, RoundTripsWithSpireFieldNames) {
  AttestationPayload p{"{\n  \"a\" : 1\n}", "MII\nABC=", "c2ln"};
  std::string json = p.ToJson();
  EXPECT_THAT(json, HasSubstr("\"document\":"));
  EXPECT_THAT(json, HasSubstr("\"rsa2048\":"));
  EXPECT_THAT(json, HasSubstr("\"signature\":"));
  auto back = AttestationPayload::FromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->document, p.document);
  EXPECT_EQ(back->rsa2048, p.rsa2048);
  EXPECT_EQ(back->signature, p.signature);
}

TEST(AttestationPayloadTest, RejectsMalformed) {
  EXPECT_THAT(AttestationPayload::FromJson("nope").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(AttestationPayload::FromJson("[]").status().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(AttestationPayload::FromJson("{}").status().message(), HasSubstr("has no \"document\""));
  EXPECT_THAT(AttestationPayload::FromJson(R"({"document": 5})").status().message(),
              HasSubstr("\"document\" is not a string"));
  EXPECT_THAT(AttestationPayload::FromJson(R"({"document": "x", "rsa2048": []})").status().message(),
              HasSubstr("\"rsa2048\" is not a string"));
  EXPECT_THAT(AttestationPayload::FromJson(std::string(kMaxPayloadBytes + 1, ' ')).status().message(),
              HasSubstr("more than the limit"));
  EXPECT_TRUE(AttestationPayload::FromJson(R"({"document": "x", "future": 1})").ok());
  for (const char* bad : {R"("true")", "1", "null", "{}"}) {
    auto r = AttestationPayload::FromJson(absl::StrCat(R"({"document": "x", "sev_snp_challenge": )", bad, "}"));
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("\"sev_snp_challenge\" must be a boolean")) << bad;
  }
}

// The SEV-SNP announcement: written only when set, so a payload without it is exactly SPIRE's three members.
TEST(AttestationPayloadTest, SevSnpChallengeMemberOnlyWhenAnnounced) {
  AttestationPayload p{"doc", "sig", ""};
  EXPECT_EQ(p.ToJson(), R"({"document":"doc","rsa2048":"sig"})");
  EXPECT_FALSE(AttestationPayload::FromJson(p.ToJson())->sev_snp_challenge);
  p.sev_snp_challenge = true;
  EXPECT_EQ(p.ToJson(), R"({"document":"doc","rsa2048":"sig","sev_snp_challenge":true})");
  EXPECT_TRUE(AttestationPayload::FromJson(p.ToJson())->sev_snp_challenge);
  EXPECT_FALSE(AttestationPayload::FromJson(R"({"document":"d","sev_snp_challenge":false})")->sev_snp_challenge);
}

// ---- agent path template ----

InstanceIdentityDocument SampleDoc() { return *ParseDocument(testing::MakeDocument({})); }

TEST(AgentPathTemplateTest, DefaultAndSpacing) {
  for (const char* t : {"/{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}",
                        "/{{.PluginName}}/{{.AccountID}}/{{.Region}}/{{.InstanceID}}",
                        "/{{  .PluginName}}/{{.AccountID  }}/{{ .Region}}/{{\t.InstanceID }}"}) {
    auto tmpl = AgentPathTemplate::Parse(t);
    ASSERT_TRUE(tmpl.ok()) << tmpl.status();
    EXPECT_EQ(*tmpl->Render(SampleDoc()), "/aws_iid/123456789012/us-east-1/i-0123456789abcdef0");
  }
  auto custom = AgentPathTemplate::Parse("/ec2/{{ .Region }}-{{ .AvailabilityZone }}/{{ .InstanceType }}/node");
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(*custom->Render(SampleDoc()), "/ec2/us-east-1-us-east-1a/m6a.large/node");
}

TEST(AgentPathTemplateTest, ConfigErrors) {
  EXPECT_THAT(AgentPathTemplate::Parse("/{{ .Bogus }}").status().message(),
              HasSubstr("unknown placeholder \".Bogus\"; supported: .PluginName, .AccountID"));
  EXPECT_THAT(AgentPathTemplate::Parse("/{{ .Tags.name }}").status().message(), HasSubstr("tags need AWS API calls"));
  EXPECT_THAT(AgentPathTemplate::Parse("/{{ .Region").status().message(), HasSubstr("\"{{\" without \"}}\""));
  EXPECT_THAT(AgentPathTemplate::Parse("/x}}").status().message(), HasSubstr("\"}}\" without"));
  EXPECT_THAT(AgentPathTemplate::Parse("/{{ printf \"%s\" .Region }}").status().message(),
              HasSubstr("is not a field reference"));
  EXPECT_THAT(AgentPathTemplate::Parse("{{ .Region }}").status().message(), HasSubstr("must start with /"));
  auto bad_render = AgentPathTemplate::Parse("/a//{{ .Region }}");
  ASSERT_TRUE(bad_render.ok());
  EXPECT_THAT(bad_render->Render(SampleDoc()).status().message(), HasSubstr("rendered an invalid path"));
}

// ---- test-key verifier: config, describer seam ----

class FakeDescriber : public InstanceDescriber {
 public:
  absl::StatusOr<InstanceDetails> Describe(const InstanceIdentityDocument& doc) override {
    last_instance = doc.instance_id;
    InstanceDetails d;
    d.tags = {{"env", "prod"}};
    d.security_group_ids = {"sg-0123"};
    d.iam_role_arns = {"arn:aws:iam::123456789012:role/node"};
    return d;
  }
  std::string last_instance;
};

class TestKeyVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = testing::TestAwsSigner::Generate();
    ASSERT_TRUE(s.ok());
    signer_ = std::make_unique<testing::TestAwsSigner>(*std::move(s));
    ASSERT_TRUE(signer_->WriteCertsDir(tmp_.path(), "us-east-1").ok());
    payload_.document = testing::MakeDocument({});
    payload_.rsa2048 = *testing::SignRsa2048(*signer_, payload_.document);
  }
  TempDir tmp_;
  std::unique_ptr<testing::TestAwsSigner> signer_;
  AttestationPayload payload_;
};

TEST_F(TestKeyVerifierTest, ConfigProblemsReportedTogether) {
  Config c;
  c.aws_certificates_path = tmp_.path() + "/missing";
  c.account_ids = {"123", "123456789012"};
  c.agent_path_template = "/{{ .Nope }}";
  c.max_document_age = absl::ZeroDuration();
  auto v = Verifier::Create(c);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("account_ids: \"123\" is not a 12-digit"));
  EXPECT_THAT(v.status().message(), HasSubstr("unknown placeholder \".Nope\""));
  EXPECT_THAT(v.status().message(), HasSubstr("max_document_age must be positive"));
  EXPECT_THAT(v.status().message(), HasSubstr("is not a directory"));
}

TEST_F(TestKeyVerifierTest, DescriberSeamAddsSelectors) {
  Config c;
  c.aws_certificates_path = tmp_.path();
  auto describer = std::make_unique<FakeDescriber>();
  FakeDescriber* raw = describer.get();
  auto v = Verifier::Create(c, std::move(describer));
  ASSERT_TRUE(v.ok()) << v.status();
  auto r = (*v)->Verify(payload_, absl::Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(raw->last_instance, "i-0123456789abcdef0");
  EXPECT_THAT(r->selectors, ::testing::IsSupersetOf({
                                Selector{"aws_iid", "tag:env:prod"},
                                Selector{"aws_iid", "sg:id:sg-0123"},
                                Selector{"aws_iid", "iamrole:arn:aws:iam::123456789012:role/node"},
                            }));
}

TEST_F(TestKeyVerifierTest, SignatureFromAnotherRegionsKeyRejected) {
  // Two test "regions" with different keys; a us-west-2 document signed by us-east-1's key.
  auto west = testing::TestAwsSigner::Generate();
  ASSERT_TRUE(west.ok());
  ASSERT_TRUE(west->WriteCertsDir(tmp_.path(), "us-west-2").ok());
  testing::DocumentFields f;
  f.region = "us-west-2";
  AttestationPayload p;
  p.document = testing::MakeDocument(f);
  p.rsa2048 = *testing::SignRsa2048(*signer_, p.document);  // us-east-1's key
  Config c;
  c.aws_certificates_path = tmp_.path();
  auto v = Verifier::Create(c);
  ASSERT_TRUE(v.ok());
  auto r = (*v)->Verify(p, absl::Now());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("does not verify"));
  EXPECT_THAT(r.status().message(), HasSubstr("region \"us-west-2\""));
  p.rsa2048 = *testing::SignRsa2048(*west, p.document);
  EXPECT_TRUE((*v)->Verify(p, absl::Now()).ok());
}

}  // namespace
}  // namespace spirecvm::awsiid

namespace spirecvm::awsiid {
namespace {

// ---- the steps of Verify, alone

TEST(VerifyStepsTest, ChooseSignatureForm) {
  AttestationPayload p;
  EXPECT_THAT(ChooseSignatureForm(p, true).status().message(), HasSubstr("has no rsa2048 signature"));
  p.signature = "sig";
  EXPECT_THAT(ChooseSignatureForm(p, false).status().message(), HasSubstr("allow_signature_form is false"));
  EXPECT_EQ(*ChooseSignatureForm(p, true), SignatureForm::kSignature);
  p.rsa2048 = "cms";  // rsa2048 wins, even when the other form is allowed
  EXPECT_EQ(*ChooseSignatureForm(p, true), SignatureForm::kRsa2048);
}

TEST(VerifyStepsTest, CheckDocumentPolicy) {
  InstanceIdentityDocument doc;
  doc.account_id = "123456789012";
  doc.instance_id = "i-0123456789abcdef0";
  doc.pending_time = absl::FromUnixSeconds(1'700'000'000);
  Config c;
  EXPECT_TRUE(CheckDocumentPolicy(doc, c, doc.pending_time + absl::Hours(1000)).ok());
  c.account_ids = {"210987654321"};
  auto st = CheckDocumentPolicy(doc, c, doc.pending_time);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("account 123456789012 (instance i-0123456789abcdef0) is not in account_ids"));
  c.account_ids.push_back(doc.account_id);
  c.max_document_age = absl::Hours(1);
  EXPECT_TRUE(CheckDocumentPolicy(doc, c, doc.pending_time + absl::Minutes(59)).ok());
  EXPECT_THAT(CheckDocumentPolicy(doc, c, doc.pending_time + absl::Hours(2)).message(), HasSubstr("is too old"));
}

TEST(VerifyStepsTest, DocumentSelectors) {
  InstanceIdentityDocument doc;
  doc.account_id = "123456789012";
  doc.region = "eu-west-1";
  doc.availability_zone = "eu-west-1b";
  doc.instance_id = "i-0123456789abcdef0";
  doc.image_id = "ami-12345678";
  doc.instance_type = "m6a.large";
  EXPECT_THAT(
      DocumentSelectors(doc),
      ElementsAre(Selector{"aws_iid", "account_id:123456789012"}, Selector{"aws_iid", "region:eu-west-1"},
                  Selector{"aws_iid", "az:eu-west-1b"}, Selector{"aws_iid", "instance:id:i-0123456789abcdef0"},
                  Selector{"aws_iid", "image:id:ami-12345678"}, Selector{"aws_iid", "instance:type:m6a.large"}));
}

TEST(VerifyStepsTest, ParseSignedCmsRefusesStructure) {
  EXPECT_THAT(ParseSignedCms(SignatureForm::kRsa2048, "junk").status().message(),
              HasSubstr("rsa2048 signature: not a CMS (PKCS#7) structure"));
  EXPECT_THAT(ParseSignedCms(SignatureForm::kPkcs7, std::string(kMaxSignatureBytes + 1, '0')).status().message(),
              HasSubstr("pkcs7 signature: CMS blob is too large"));
}

}  // namespace
}  // namespace spirecvm::awsiid
