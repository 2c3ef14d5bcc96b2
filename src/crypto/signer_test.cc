#include "crypto/signer.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "crypto/x509.h"

namespace spirecvm::crypto {
namespace {

class SignerTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(SignerTest, LocalSignerHandsOutOnlyThePublicKeyAndSignsDigests) {
  auto signer = NewLocalSigner(*GenerateKey(GetParam()));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->Type(), GetParam());
  EXPECT_FALSE(PrivateKeyToPem((*signer)->PublicKey()).ok());  // no private part to encode
  const EVP_MD* md = DigestFor(GetParam());
  auto sig = SignData(**signer, md, "payload");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifySignature((*signer)->PublicKey(), md, "payload", *sig).ok());
  EXPECT_FALSE(VerifySignature((*signer)->PublicKey(), md, "other", *sig).ok());
  EXPECT_FALSE((*signer)->SignDigest(md, "short").ok());
}

TEST_P(SignerTest, SignCertificateMakesACertificateThatVerifiesAfterARoundTrip) {
  auto signer = NewLocalSigner(*GenerateKey(GetParam()));
  ASSERT_TRUE(signer.ok()) << signer.status();
  ssl::X509Ptr cert(X509_new());
  ASSERT_EQ(X509_set_version(cert.get(), X509_VERSION_3), 1);
  ASSERT_EQ(X509_set_pubkey(cert.get(), (*signer)->PublicKey()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  ASSERT_TRUE(SignCertificate(cert.get(), **signer, DigestFor(GetParam())).ok());
  auto parsed = ParseCertDer(CertToDer(cert.get()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(X509_verify(parsed->get(), (*signer)->PublicKey()), 1);
  // Both signature AlgorithmIdentifiers name the same algorithm.
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(nullptr, &outer, parsed->get());
  EXPECT_EQ(X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(parsed->get())), 0);
  // Another key does not verify it.
  auto other = NewLocalSigner(*GenerateKey(GetParam()));
  EXPECT_NE(X509_verify(parsed->get(), (*other)->PublicKey()), 1);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, SignerTest,
                         ::testing::Values(KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048));

}  // namespace
}  // namespace spirecvm::crypto
