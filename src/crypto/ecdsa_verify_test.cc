#include "crypto/ecdsa_verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>

#include "crypto/keys.h"

namespace spirecvm::crypto {
namespace {

using ::testing::HasSubstr;

std::string Point(EVP_PKEY* key) {
  unsigned char buf[133];
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len), 1);
  return std::string(reinterpret_cast<char*>(buf), len);
}

struct Curve {
  EcCurve curve;
  KeyType type;
  const EVP_MD* md;
};

const Curve kCurves[] = {{EcCurve::kP256, KeyType::kEcP256, EVP_sha256()},
                         {EcCurve::kP384, KeyType::kEcP384, EVP_sha384()}};

TEST(EcdsaVerifyTest, AcceptsAValidSignatureOnEachCurve) {
  for (const auto& c : kCurves) {
    auto key = GenerateKey(c.type);
    ASSERT_TRUE(key.ok());
    auto sig = SignDigestInfo(key->get(), c.md, "data");
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(VerifyEcdsa(c.curve, Point(key->get()), c.md, "data", *sig).ok()) << KeyTypeName(c.type);
  }
}

TEST(EcdsaVerifyTest, RefusesOtherDataKeysDigestsAndEncodings) {
  auto key = GenerateKey(KeyType::kEcP256);
  auto other = GenerateKey(KeyType::kEcP256);
  auto sig = SignDigestInfo(key->get(), EVP_sha256(), "data");
  ASSERT_TRUE(sig.ok());
  const std::string point = Point(key->get());
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, point, EVP_sha256(), "datA", *sig).message(),
              HasSubstr("signature does not verify"));
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, Point(other->get()), EVP_sha256(), "data", *sig).message(),
              HasSubstr("signature does not verify"));
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, point, EVP_sha384(), "data", *sig).message(),
              HasSubstr("signature does not verify"));
  // The one DER encoding only: a trailing byte is refused.
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, point, EVP_sha256(), "data", *sig + '\0').message(),
              HasSubstr("signature does not verify"));
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, point, EVP_sha256(), "data", "").message(),
              HasSubstr("signature does not verify"));
}

TEST(EcdsaVerifyTest, RefusesAPointOffTheCurveOrOfTheWrongSize) {
  auto key = GenerateKey(KeyType::kEcP256);
  auto sig = SignDigestInfo(key->get(), EVP_sha256(), "data");
  std::string off = Point(key->get());
  off[64] ^= 1;  // y changed: (x, y') is not on P-256
  auto st = VerifyEcdsa(EcCurve::kP256, off, EVP_sha256(), "data", *sig);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("public key: not a point on the curve"));
  // A P-256 point presented as a P-384 key, the point at infinity, and nothing at all.
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP384, Point(key->get()), EVP_sha256(), "data", *sig).message(),
              HasSubstr("public key"));
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, std::string(1, '\0'), EVP_sha256(), "data", *sig).message(),
              HasSubstr("public key"));
  EXPECT_THAT(VerifyEcdsa(EcCurve::kP256, "", EVP_sha256(), "data", *sig).message(), HasSubstr("public key"));
}

}  // namespace
}  // namespace spirecvm::crypto
