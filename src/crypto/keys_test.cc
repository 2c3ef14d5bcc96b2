#include "crypto/keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "common/encoding.h"

namespace spirecvm::crypto {
namespace {

using ::testing::HasSubstr;

TEST(KeyTypeTest, ParseAndNameRoundTrip) {
  for (auto t : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048, KeyType::kRsa4096}) {
    auto parsed = ParseKeyType(KeyTypeName(t));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(KeyTypeName(KeyType::kEcP256), "ec-p256");
  EXPECT_EQ(KeyTypeName(KeyType::kRsa4096), "rsa-4096");
  auto bad = ParseKeyType("ec-p521");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("ec-p521"));
  EXPECT_FALSE(ParseKeyType("EC-P256").ok());
  EXPECT_FALSE(ParseKeyType("").ok());
}

class KeyRoundTripTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyRoundTripTest, GenerateSerializeParse) {
  auto key = GenerateKey(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  auto type = KeyTypeOf(key->get());
  ASSERT_TRUE(type.ok()) << type.status();
  EXPECT_EQ(*type, GetParam());

  auto der = PrivateKeyToPkcs8Der(key->get());
  ASSERT_TRUE(der.ok()) << der.status();
  auto back = PrivateKeyFromDer(*der);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), back->get()), 1);

  auto pem = PrivateKeyToPem(key->get());
  ASSERT_TRUE(pem.ok());
  EXPECT_THAT(*pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  auto back_pem = PrivateKeyFromPem(*pem);
  ASSERT_TRUE(back_pem.ok()) << back_pem.status();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), back_pem->get()), 1);

  auto spki = PublicKeyToDer(key->get());
  ASSERT_TRUE(spki.ok());
  auto pub = PublicKeyFromDer(*spki);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), pub->get()), 1);
  EXPECT_FALSE(PublicKeyFromDer(*spki + "x").ok());
  EXPECT_FALSE(PrivateKeyFromDer(*der + "x").ok());

  // Sign / verify.
  auto sig = SignDigestInfo(key->get(), EVP_sha256(), "hello");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifySignature(pub->get(), EVP_sha256(), "hello", *sig).ok());
  EXPECT_FALSE(VerifySignature(pub->get(), EVP_sha256(), "hellO", *sig).ok());
  EXPECT_TRUE(ERR_peek_error() == 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KeyRoundTripTest,
                         ::testing::Values(KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048, KeyType::kRsa4096),
                         [](const auto& info) {
                           std::string n(KeyTypeName(info.param));
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(KeysTest, TraditionalDerAccepted) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  unsigned char* out = nullptr;
  int len = i2d_PrivateKey(key->get(), &out);  // SEC1 ECPrivateKey
  ASSERT_GT(len, 0);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  auto back = PrivateKeyFromDer(der);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), back->get()), 1);
}

TEST(KeysTest, GarbageRejected) {
  EXPECT_FALSE(PrivateKeyFromDer("").ok());
  EXPECT_FALSE(PrivateKeyFromDer("garbage").ok());
  EXPECT_FALSE(PrivateKeyFromPem("garbage").ok());
  EXPECT_FALSE(PublicKeyFromDer("\x30\x03\x02\x01\x01").ok());
  EXPECT_EQ(ERR_peek_error(), 0u) << "error queue must be drained";
}

TEST(KeysTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(KeysTest, DigestVectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha512("abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
            "454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(Sha384("abc").size(), 48u);
}

}  // namespace
}  // namespace spirecvm::crypto
