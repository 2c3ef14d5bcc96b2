#include "attestation/awsiid/signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/testing/test_util.h"

namespace spirecvm::awsiid {
namespace {

using testing::CmsForm;
using ::testing::HasSubstr;
using testing::TempDir;

class RealVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::AwsVectorsDir();
    ASSERT_FALSE(dir_.empty()) << "AWS vectors missing under test/data/aws";
    auto store = CertStore::Load(dir_ + "/certs");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<CertStore>(*std::move(store));
    doc_ = Read("document");
  }
  std::string Read(const std::string& name) { return testing::ReadFileOrDie(dir_ + "/iid/us-west-2-2018/" + name); }
  std::string dir_;
  std::unique_ptr<CertStore> store_;
  std::string doc_;
};

TEST_F(RealVectorsTest, AllThreeFormsVerify) {
  EXPECT_TRUE(VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", doc_, Read("rsa2048")).ok());
  EXPECT_TRUE(VerifyDocumentSignature(*store_, SignatureForm::kSignature, "us-west-2", doc_, Read("signature")).ok());
  auto pkcs7 = VerifyDocumentSignature(*store_, SignatureForm::kPkcs7, "us-west-2", doc_, Read("pkcs7"));
  EXPECT_TRUE(pkcs7.ok()) << pkcs7;
}

TEST_F(RealVectorsTest, OneByteChangeRejectedInEveryForm) {
  std::string changed = doc_;
  changed[changed.find("t2.nano") + 1] = '3';  // t3.nano
  auto rsa2048 = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", changed, Read("rsa2048"));
  EXPECT_EQ(rsa2048.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rsa2048.message(),
              HasSubstr("rsa2048 signature: signed content differs from the instance identity document"));
  auto sig = VerifyDocumentSignature(*store_, SignatureForm::kSignature, "us-west-2", changed, Read("signature"));
  EXPECT_THAT(sig.message(), HasSubstr("signature over the document does not verify"));
  EXPECT_THAT(sig.message(), HasSubstr("region \"us-west-2\""));
  auto pkcs7 = VerifyDocumentSignature(*store_, SignatureForm::kPkcs7, "us-west-2", changed, Read("pkcs7"));
  EXPECT_THAT(pkcs7.message(), HasSubstr("pkcs7 signature: signed content differs"));
}

TEST_F(RealVectorsTest, SignatureFromAnotherRegionRejected) {
  auto s = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-east-1", doc_, Read("rsa2048"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rsa2048 signature: signature over the signed attributes does not verify"));
  EXPECT_THAT(s.message(), HasSubstr("with the AWS certificate for region \"us-east-1\""));
  EXPECT_THAT(s.message(), HasSubstr("rsa2048/us-east-1.pem"));
  auto sig = VerifyDocumentSignature(*store_, SignatureForm::kSignature, "ap-east-1", doc_, Read("signature"));
  EXPECT_THAT(sig.message(), HasSubstr("does not verify"));
  EXPECT_THAT(sig.message(), HasSubstr("rsa/ap-east-1.pem"));
  // AWS signs the older `signature` form with ONE RSA-1024 key in most commercial regions, so
  // us-west-2's signature also verifies with eu-west-1's certificate. The region that counts is
  // the one inside the signed document, which the verifier uses to pick the certificate.
  EXPECT_TRUE(VerifyDocumentSignature(*store_, SignatureForm::kSignature, "eu-west-1", doc_, Read("signature")).ok());
}

TEST_F(RealVectorsTest, TestKeySignedCmsOverAnotherDocumentRejected) {
  // Valid CMS (test key) over a different document, paired with the real document: against the
  // real AWS certificate the signature itself fails.
  auto signer = testing::TestAwsSigner::Generate();
  ASSERT_TRUE(signer.ok());
  auto forged = testing::SignRsa2048(*signer, testing::MakeDocument({}));
  ASSERT_TRUE(forged.ok());
  auto s = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", doc_, *forged);
  EXPECT_THAT(s.message(), HasSubstr("does not verify"));
}

TEST_F(RealVectorsTest, MalformedBlobsRejected) {
  EXPECT_THAT(VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", doc_, "not base64!").message(),
              HasSubstr("rsa2048 signature is not valid base64"));
  EXPECT_THAT(
      VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", doc_, EncodeBase64("garbage")).message(),
      HasSubstr("rsa2048 signature: not a CMS (PKCS#7) structure"));
  std::string truncated = Read("rsa2048");
  truncated.resize(truncated.size() / 2);
  truncated.resize(truncated.size() - truncated.size() % 4);
  EXPECT_FALSE(VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", doc_, truncated).ok());
  // The pkcs7 (DSA) blob is not accepted as rsa2048.
  auto wrong_form = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "us-west-2", doc_, Read("pkcs7"));
  EXPECT_THAT(wrong_form.message(), HasSubstr("is not accepted for this form"));
  EXPECT_THAT(VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "xx-east-1", doc_, Read("rsa2048")).message(),
              HasSubstr("no AWS certificate for region \"xx-east-1\""));
}

class TestKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = testing::TestAwsSigner::Generate();
    ASSERT_TRUE(s.ok()) << s.status();
    signer_ = new testing::TestAwsSigner(*std::move(s));
  }
  static void TearDownTestSuite() { delete signer_; }
  void SetUp() override {
    ASSERT_TRUE(signer_->WriteCertsDir(tmp_.path(), "eu-central-1").ok());
    auto store = CertStore::Load(tmp_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<CertStore>(*std::move(store));
    testing::DocumentFields f;
    f.region = "eu-central-1";
    doc_ = testing::MakeDocument(f);
  }
  static testing::TestAwsSigner* signer_;
  TempDir tmp_;
  std::unique_ptr<CertStore> store_;
  std::string doc_;
};
testing::TestAwsSigner* TestKeyTest::signer_ = nullptr;

TEST_F(TestKeyTest, BothCmsFormsVerify) {
  for (CmsForm form : {CmsForm::kWithSignedAttributes, CmsForm::kWithoutSignedAttributes}) {
    auto blob = testing::SignRsa2048(*signer_, doc_, form);
    ASSERT_TRUE(blob.ok()) << blob.status();
    auto s = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "eu-central-1", doc_, *blob);
    EXPECT_TRUE(s.ok()) << s;
  }
}

TEST_F(TestKeyTest, CmsFormsHaveTheExpectedShape) {
  auto with = testing::SignRsa2048(*signer_, doc_, CmsForm::kWithSignedAttributes);
  auto without = testing::SignRsa2048(*signer_, doc_, CmsForm::kWithoutSignedAttributes);
  ASSERT_TRUE(with.ok() && without.ok());
  auto inspect = [](const std::string& b64, int* attrs, int* sig_nid) {
    std::string der = *DecodeBase64("cms", b64);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ssl::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    ASSERT_TRUE(cms);
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    X509_ALGOR* sig = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &sig);
    *attrs = CMS_signed_get_attr_count(si);
    *sig_nid = OBJ_obj2nid(sig->algorithm);
    ssl::X509StackPtr certs(CMS_get1_certs(cms.get()));
    EXPECT_TRUE(certs == nullptr || sk_X509_num(certs.get()) == 0) << "no certificate inside";
  };
  int attrs = 0, nid = 0;
  inspect(*with, &attrs, &nid);
  EXPECT_GE(attrs, 3);
  EXPECT_EQ(nid, NID_sha256WithRSAEncryption);
  inspect(*without, &attrs, &nid);
  EXPECT_LE(attrs, 0);
  EXPECT_EQ(nid, NID_rsaEncryption);
}

TEST_F(TestKeyTest, ContentSubstitutionRejected) {
  // A genuine signature by the region's key, over a DIFFERENT document, paired with this one.
  testing::DocumentFields other;
  other.region = "eu-central-1";
  other.instance_id = "i-0fedcba9876543210";
  for (CmsForm form : {CmsForm::kWithSignedAttributes, CmsForm::kWithoutSignedAttributes}) {
    auto blob = testing::SignRsa2048(*signer_, testing::MakeDocument(other), form);
    ASSERT_TRUE(blob.ok());
    auto s = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "eu-central-1", doc_, *blob);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("signed content differs from the instance identity document"));
  }
}

TEST_F(TestKeyTest, SignatureFormVerifiesAndRejectsChange) {
  auto sig = testing::SignRsaSignature(*signer_, doc_);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(VerifyDocumentSignature(*store_, SignatureForm::kSignature, "eu-central-1", doc_, *sig).ok());
  std::string changed = doc_;
  changed.back() = ' ';
  EXPECT_THAT(VerifyDocumentSignature(*store_, SignatureForm::kSignature, "eu-central-1", changed, *sig).message(),
              HasSubstr("does not verify"));
}

TEST_F(TestKeyTest, ExpiredCertificateWithSameKeyStillVerifies) {
  // AWS re-issued certificates with the same key; validity periods are not the trust decision.
  ssl::X509Ptr expired(X509_dup(signer_->cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(expired.get()), -10L * 365 * 24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(expired.get()), -365L * 24 * 3600);
  ASSERT_GT(X509_sign(expired.get(), signer_->key.get(), EVP_sha256()), 0);
  ASSERT_LT(X509_cmp_current_time(X509_get0_notAfter(expired.get())), 0);
  auto with = testing::SignRsa2048(*signer_, doc_, CmsForm::kWithSignedAttributes);
  auto without = testing::SignRsa2048(*signer_, doc_, CmsForm::kWithoutSignedAttributes);
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_TRUE(VerifyCmsWithCert(SignatureForm::kRsa2048, doc_, *DecodeBase64("x", *with), expired.get()).ok());
  EXPECT_TRUE(VerifyCmsWithCert(SignatureForm::kRsa2048, doc_, *DecodeBase64("x", *without), expired.get()).ok());
}

TEST_F(TestKeyTest, ReissuedCertificateWithDifferentSerialStillVerifies) {
  // The CMS names the signer by issuer+serial; a re-issued certificate has another serial.
  ssl::X509Ptr reissued(X509_dup(signer_->cert.get()));
  ASN1_INTEGER_set_int64(X509_get_serialNumber(reissued.get()), 42);
  ASSERT_GT(X509_sign(reissued.get(), signer_->key.get(), EVP_sha256()), 0);
  auto blob = testing::SignRsa2048(*signer_, doc_, CmsForm::kWithSignedAttributes);
  ASSERT_TRUE(blob.ok());
  auto s = VerifyCmsWithCert(SignatureForm::kRsa2048, doc_, *DecodeBase64("x", *blob), reissued.get());
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(TestKeyTest, AnotherKeyForTheRegionRejected) {
  auto other = testing::TestAwsSigner::Generate();
  ASSERT_TRUE(other.ok());
  for (CmsForm form : {CmsForm::kWithSignedAttributes, CmsForm::kWithoutSignedAttributes}) {
    auto blob = testing::SignRsa2048(*other, doc_, form);
    ASSERT_TRUE(blob.ok());
    auto s = VerifyDocumentSignature(*store_, SignatureForm::kRsa2048, "eu-central-1", doc_, *blob);
    EXPECT_THAT(s.message(), HasSubstr("does not verify"));
    EXPECT_THAT(s.message(), HasSubstr("region \"eu-central-1\""));
  }
}

TEST(Base64Test, DecodesImdsStyleAndRejectsJunk) {
  EXPECT_EQ(*DecodeBase64("x", "aGVs\nbG8=\n"), "hello");
  EXPECT_EQ(*DecodeBase64("x", "aGVsbG8h"), "hello!");
  EXPECT_EQ(EncodeBase64("hello"), "aGVsbG8=");
  EXPECT_EQ(EncodeBase64("hello!hello!", 8), "aGVsbG8h\naGVsbG8h");
  EXPECT_THAT(DecodeBase64("rsa2048 signature", "aGVsbG8").status().message(),
              HasSubstr("rsa2048 signature is not valid base64: "));
  EXPECT_FALSE(DecodeBase64("x", "aGVsbG9=").ok());  // non-zero trailing bits
  EXPECT_FALSE(DecodeBase64("x", "aG=VsbG8").ok());  // data after padding
  EXPECT_FALSE(DecodeBase64("x", "aGVs*G8=").ok());
  EXPECT_FALSE(DecodeBase64("x", "").ok());
  EXPECT_FALSE(DecodeBase64("x", "a===").ok());
}

}  // namespace
}  // namespace spirecvm::awsiid
