#include "attestation/awsiid/certs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/testing/test_util.h"

namespace spirecvm::awsiid {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFileOrDie;

TEST(CertStoreTest, LoadsRealAwsCertificates) {
  REQUIRE_AWS_VECTORS(dir);
  auto store = CertStore::Load(dir + "/certs");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_GE(store->Regions(SignatureForm::kRsa2048).size(), 30u);
  EXPECT_EQ(store->Regions(SignatureForm::kPkcs7), (std::vector<std::string>{"us-east-1", "us-west-2"}));
  auto certs = store->Lookup(SignatureForm::kRsa2048, "us-west-2");
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ(certs->size(), 1u);
}

TEST(CertStoreTest, MissingRegionNamesRegionOptionAndFile) {
  TempDir tmp;
  auto signer = testing::TestAwsSigner::Generate();
  ASSERT_TRUE(signer.ok()) << signer.status();
  ASSERT_TRUE(signer->WriteCertsDir(tmp.path(), "us-east-1").ok());
  auto store = CertStore::Load(tmp.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(store->Lookup(SignatureForm::kRsa2048, "us-east-1").ok());
  EXPECT_TRUE(store->Lookup(SignatureForm::kSignature, "us-east-1").ok());
  auto missing = store->Lookup(SignatureForm::kRsa2048, "xx-north-1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no AWS certificate for region \"xx-north-1\" in aws_certificates_path " +
                                            tmp.path() + " (rsa2048/xx-north-1.pem)");
  EXPECT_THAT(store->Lookup(SignatureForm::kPkcs7, "us-east-1").status().message(), HasSubstr("(dsa/us-east-1.pem)"));
}

TEST(CertStoreTest, RejectsBadDirectories) {
  EXPECT_THAT(CertStore::Load("").status().message(), HasSubstr("aws_certificates_path is not set"));
  EXPECT_THAT(CertStore::Load("/nonexistent/awsiid").status().message(),
              HasSubstr("aws_certificates_path /nonexistent/awsiid is not a directory"));
  TempDir empty;
  EXPECT_THAT(CertStore::Load(empty.path()).status().message(), HasSubstr("holds no AWS certificates"));

  TempDir badname;
  auto signer = testing::TestAwsSigner::Generate();
  ASSERT_TRUE(signer.ok());
  WriteFileOrDie(badname.path() + "/rsa2048/not_a_region.pem", signer->CertPem());
  EXPECT_THAT(CertStore::Load(badname.path()).status().message(),
              HasSubstr("rsa2048/not_a_region.pem is not named after an AWS region"));

  TempDir garbage;
  WriteFileOrDie(garbage.path() + "/rsa2048/us-east-1.pem", "hello\n");
  EXPECT_THAT(CertStore::Load(garbage.path()).status().message(), HasSubstr("us-east-1.pem holds no PEM certificate"));

  TempDir wrongkey;  // an RSA certificate where a DSA one is expected
  WriteFileOrDie(wrongkey.path() + "/dsa/us-east-1.pem", signer->CertPem());
  EXPECT_THAT(CertStore::Load(wrongkey.path()).status().message(), HasSubstr("whose key is not DSA"));

  TempDir ignored;  // non-.pem files are ignored
  WriteFileOrDie(ignored.path() + "/rsa2048/README", "x");
  WriteFileOrDie(ignored.path() + "/rsa2048/us-east-1.pem", signer->CertPem());
  EXPECT_TRUE(CertStore::Load(ignored.path()).ok());
}

TEST(CertStoreTest, FileMayHoldSeveralCertificates) {
  TempDir tmp;
  auto a = testing::TestAwsSigner::Generate();
  auto b = testing::TestAwsSigner::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  WriteFileOrDie(tmp.path() + "/rsa2048/eu-west-1.pem", a->CertPem() + b->CertPem());
  auto store = CertStore::Load(tmp.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->Lookup(SignatureForm::kRsa2048, "eu-west-1")->size(), 2u);
}

}  // namespace
}  // namespace spirecvm::awsiid
