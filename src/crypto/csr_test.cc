#include "crypto/csr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/keys.h"

namespace spirecvm::crypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CsrTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(CsrTest, ValidWithUriSan) {
  auto key = GenerateKey(GetParam());
  ASSERT_TRUE(key.ok());
  auto der = CreateCsr(key->get(), "spiffe://example.org/workload");
  ASSERT_TRUE(der.ok()) << der.status();
  auto parsed = ParseAndVerifyCsr(*der);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->uri_sans, ElementsAre("spiffe://example.org/workload"));
  EXPECT_EQ(parsed->spki_der, *PublicKeyToDer(key->get()));
  EXPECT_EQ(parsed->key_type, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Types, CsrTest, ::testing::Values(KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048),
                         [](const auto& info) {
                           std::string n(KeyTypeName(info.param));
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(CsrBasicTest, ValidWithoutSan) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto der = CreateCsr(key->get(), std::nullopt);
  ASSERT_TRUE(der.ok());
  auto parsed = ParseAndVerifyCsr(*der);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->uri_sans.empty());
}

TEST(CsrBasicTest, FlippedSignatureByteRejected) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto der = CreateCsr(key->get(), "spiffe://example.org/a");
  ASSERT_TRUE(der.ok());
  // The signature BIT STRING is the last element; flip a byte near the end (inside r or s).
  std::string bad = *der;
  bad[bad.size() - 5] ^= 0x01;
  auto parsed = ParseAndVerifyCsr(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("CSR signature does not verify"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(CsrBasicTest, TamperedSubjectRejected) {
  auto key = GenerateKey(KeyType::kRsa2048);
  ASSERT_TRUE(key.ok());
  auto der = CreateCsr(key->get(), "spiffe://example.org/a");
  ASSERT_TRUE(der.ok());
  std::string bad = *der;
  size_t pos = bad.find("SPIRE");
  ASSERT_NE(pos, std::string::npos);
  bad[pos] = 'X';
  auto parsed = ParseAndVerifyCsr(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("CSR signature does not verify"));
}

TEST(CsrBasicTest, GarbageAndTruncated) {
  EXPECT_FALSE(ParseAndVerifyCsr("").ok());
  EXPECT_FALSE(ParseAndVerifyCsr("garbage garbage").ok());
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto der = CreateCsr(key->get(), std::nullopt);
  ASSERT_TRUE(der.ok());
  for (size_t n : {size_t{1}, size_t{10}, der->size() / 2, der->size() - 1}) {
    EXPECT_FALSE(ParseAndVerifyCsr(der->substr(0, n)).ok()) << "truncated to " << n;
  }
  auto trailing = ParseAndVerifyCsr(*der + "x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_THAT(trailing.status().message(), HasSubstr("trailing"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace spirecvm::crypto

namespace spirecvm::crypto {
namespace {

// The EC fast path and OpenSSL's parser must agree on every field, for every key type.
TEST(CsrFastPath, AgreesWithTheKeyForEveryKeyTypeWithAndWithoutSan) {
  for (KeyType t : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048}) {
    auto key = GenerateKey(t);
    ASSERT_TRUE(key.ok());
    for (bool san : {false, true}) {
      auto csr = CreateCsr(key->get(), san ? std::optional<std::string>("spiffe://example.org/w") : std::nullopt);
      ASSERT_TRUE(csr.ok());
      auto parsed = ParseAndVerifyCsr(*csr);
      ASSERT_TRUE(parsed.ok()) << KeyTypeName(t) << ": " << parsed.status();
      EXPECT_EQ(parsed->spki_der, *PublicKeyToDer(key->get())) << KeyTypeName(t);
      EXPECT_EQ(parsed->key_type, t) << KeyTypeName(t);
      EXPECT_EQ(parsed->uri_sans,
                san ? std::vector<std::string>{"spiffe://example.org/w"} : std::vector<std::string>{});
    }
  }
}

TEST(CsrFastPath, EveryFlippedByteIsRejectedOrStillVerifies) {
  // A flip anywhere either breaks the structure, the key, or the signature: never a different accepted key.
  auto key = GenerateKey(KeyType::kEcP256);
  std::string csr = *CreateCsr(key->get(), std::string("spiffe://example.org/w"));
  std::string spki = *PublicKeyToDer(key->get());
  for (size_t i = 0; i < csr.size(); i++) {
    std::string bad = csr;
    bad[i] ^= 0x01;
    auto parsed = ParseAndVerifyCsr(bad);
    if (parsed.ok()) {
      EXPECT_EQ(parsed->spki_der, spki) << "byte " << i;
    }
  }
}

TEST(CsrFastPath, APointOffTheCurveIsNamedAsTheKey) {
  auto key = GenerateKey(KeyType::kEcP256);
  std::string csr = *CreateCsr(key->get(), std::string("spiffe://example.org/w"));
  const std::string spki = *PublicKeyToDer(key->get());
  const size_t at = csr.find(spki);
  ASSERT_NE(at, std::string::npos);
  csr[at + spki.size() - 1] ^= 0x01;  // the last byte of y: (x, y') is not on the curve
  auto parsed = ParseAndVerifyCsr(csr);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), ::testing::HasSubstr("CSR: public key: not a point on the curve"));
}

}  // namespace
}  // namespace spirecvm::crypto
