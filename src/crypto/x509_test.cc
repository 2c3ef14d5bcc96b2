#include "crypto/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/keys.h"

namespace spirecvm::crypto {
namespace {

using ::testing::HasSubstr;

ssl::X509Ptr MakeSelfSigned(EVP_PKEY* key, const char* serial_dec, absl::Time nb, absl::Time na) {
  ssl::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  BIGNUM* bn = nullptr;
  BN_dec2bn(&bn, serial_dec);
  ssl::BignumPtr owned(bn);
  ssl::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn, nullptr));
  X509_set_serialNumber(cert.get(), serial.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("t"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  auto nbt = ToAsn1Time(nb);
  auto nat = ToAsn1Time(na);
  X509_set1_notBefore(cert.get(), nbt->get());
  X509_set1_notAfter(cert.get(), nat->get());
  X509_set_pubkey(cert.get(), key);
  X509_sign(cert.get(), key, EVP_sha256());
  return cert;
}

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = GenerateKey(KeyType::kEcP256);
    ASSERT_TRUE(k.ok());
    key_ = *std::move(k);
    a_ = MakeSelfSigned(key_.get(), "123456789012345678901234567890", nb_, na_);
    b_ = MakeSelfSigned(key_.get(), "7", nb_, absl::FromUnixSeconds(4102444800 + 86400));  // 2100-01-02
  }
  ssl::EvpPkeyPtr key_;
  absl::Time nb_ = absl::FromUnixSeconds(1700000000);
  absl::Time na_ = absl::FromUnixSeconds(1700003600);
  ssl::X509Ptr a_, b_;
};

TEST_F(X509Test, DerRoundTrip) {
  std::string der = CertToDer(a_.get());
  auto back = ParseCertDer(der);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(X509_cmp(a_.get(), back->get()), 0);
  EXPECT_THAT(ParseCertDer(der + "x").status().message(), HasSubstr("trailing"));
  EXPECT_FALSE(ParseCertDer(der.substr(0, der.size() - 1)).ok());
  EXPECT_FALSE(ParseCertDer("").ok());
  EXPECT_FALSE(ParseCertDer("garbage").ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(X509Test, DerConcat) {
  auto certs = ParseCertsDerConcat(CertToDer(a_.get()) + CertToDer(b_.get()));
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp(a_.get(), (*certs)[0].get()), 0);
  EXPECT_EQ(X509_cmp(b_.get(), (*certs)[1].get()), 0);
  EXPECT_FALSE(ParseCertsDerConcat("").ok());
  auto bad = ParseCertsDerConcat(CertToDer(a_.get()) + "xyz");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("#2"));
}

TEST_F(X509Test, Pem) {
  std::string pem = CertToPem(a_.get()) + CertToPem(b_.get());
  auto certs = ParseCertsPem(pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp(b_.get(), (*certs)[1].get()), 0);
  EXPECT_THAT(ParseCertsPem("no pem here").status().message(), HasSubstr("no CERTIFICATE"));
  EXPECT_FALSE(ParseCertsPem("").ok());
  std::string truncated = CertToPem(a_.get());
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(ParseCertsPem(truncated).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(X509Test, PemCertificateBlocksSplitsWithoutDecoding) {
  const std::string a = CertToPem(a_.get()), b = CertToPem(b_.get());
  const std::string pem = "junk before\n" + a + "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n" + b;
  auto blocks = PemCertificateBlocks(pem);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(std::string(blocks[0]) + "\n", a);
  EXPECT_EQ(std::string(blocks[1]) + "\n", b);
  // Each block parses back to its certificate.
  auto back = ParseCertsPem(blocks[1]);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(X509_cmp(b_.get(), (*back)[0].get()), 0);
  // An unterminated last block is not a block; nothing at all is no blocks.
  EXPECT_EQ(PemCertificateBlocks(a + b.substr(0, b.size() / 2)).size(), 1u);
  EXPECT_TRUE(PemCertificateBlocks("").empty());
  EXPECT_TRUE(PemCertificateBlocks("-----BEGIN CERTIFICATE-----").empty());
}

TEST_F(X509Test, SamePemBlockIgnoresOnlyWhitespace) {
  const std::string a = CertToPem(a_.get()), b = CertToPem(b_.get());
  EXPECT_TRUE(SamePemBlock(a, a));
  std::string crlf;
  for (char c : a) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_TRUE(SamePemBlock(a, crlf));
  EXPECT_FALSE(SamePemBlock(a, b));
  EXPECT_FALSE(SamePemBlock(a, a.substr(0, a.size() - 10)));
  std::string flipped = a;
  flipped[40] = flipped[40] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(SamePemBlock(a, flipped));
}

TEST_F(X509Test, Fields) {
  EXPECT_EQ(SerialDecimal(a_.get()), "123456789012345678901234567890");
  EXPECT_EQ(SerialDecimal(b_.get()), "7");
  EXPECT_EQ(NotBefore(a_.get()), nb_);
  EXPECT_EQ(NotAfter(a_.get()), na_);
  EXPECT_EQ(NotAfter(b_.get()), absl::FromUnixSeconds(4102444800 + 86400));  // GeneralizedTime
  EXPECT_EQ(FingerprintSha256Hex(a_.get()), HexEncode(Sha256(CertToDer(a_.get()))));
  EXPECT_EQ(FingerprintSha256Hex(a_.get()).size(), 64u);
  auto spki = CertSpkiDer(a_.get());
  ASSERT_TRUE(spki.ok());
  EXPECT_EQ(*spki, *PublicKeyToDer(key_.get()));
  EXPECT_TRUE(UriSans(a_.get()).empty());
}

}  // namespace
}  // namespace spirecvm::crypto
