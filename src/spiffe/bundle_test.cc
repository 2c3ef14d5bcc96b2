#include "spiffe/bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::spiffe {
namespace {

using crypto::KeyType;
using json = nlohmann::json;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);

struct Fixture {
  ssl::EvpPkeyPtr ca_key;
  ssl::X509Ptr ca;
  ssl::EvpPkeyPtr ca2_key;
  ssl::X509Ptr ca2;
  ssl::EvpPkeyPtr jwt_ec;
  ssl::EvpPkeyPtr jwt_rsa;
  Bundle bundle;
};

Fixture Make() {
  Fixture f;
  auto td = *TrustDomain::Parse("example.org");
  f.ca_key = *crypto::GenerateKey(KeyType::kEcP256);
  f.ca = *SelfSignCa(
      f.ca_key.get(),
      CaParams{.trust_domain = td, .public_key = nullptr, .not_before = kNow, .not_after = kNow + absl::Hours(24)},
      SystemRandom::Get());
  f.ca2_key = *crypto::GenerateKey(KeyType::kRsa2048);
  f.ca2 = *SelfSignCa(
      f.ca2_key.get(),
      CaParams{.trust_domain = td, .public_key = nullptr, .not_before = kNow, .not_after = kNow + absl::Hours(24)},
      SystemRandom::Get());
  f.jwt_ec = *crypto::GenerateKey(KeyType::kEcP384);
  f.jwt_rsa = *crypto::GenerateKey(KeyType::kRsa2048);
  f.bundle.trust_domain = td;
  f.bundle.x509_authorities_der = {crypto::CertToDer(f.ca.get()), crypto::CertToDer(f.ca2.get())};
  f.bundle.jwt_authorities = {JwtAuthority{"ec-kid", *crypto::PublicKeyToDer(f.jwt_ec.get()), kNow},
                              JwtAuthority{"rsa-kid", *crypto::PublicKeyToDer(f.jwt_rsa.get()), kNow}};
  f.bundle.sequence_number = 42;
  f.bundle.refresh_hint_seconds = 300;
  return f;
}

TEST(BundleTest, JwksFormat) {
  Fixture f = Make();
  json j = json::parse(BundleToJwks(f.bundle));
  EXPECT_EQ(j["spiffe_sequence"], 42);
  EXPECT_EQ(j["spiffe_refresh_hint"], 300);
  ASSERT_EQ(j["keys"].size(), 4u);
  const json& x0 = j["keys"][0];
  EXPECT_EQ(x0["use"], "x509-svid");
  EXPECT_EQ(x0["kty"], "EC");
  EXPECT_EQ(x0["crv"], "P-256");
  EXPECT_EQ(Base64UrlDecode(x0["x"].get<std::string>())->size(), 32u);
  EXPECT_EQ(Base64UrlDecode(x0["y"].get<std::string>())->size(), 32u);
  ASSERT_EQ(x0["x5c"].size(), 1u);
  EXPECT_EQ(*Base64Decode(x0["x5c"][0].get<std::string>()), f.bundle.x509_authorities_der[0]);
  EXPECT_FALSE(x0.contains("kid"));
  const json& x1 = j["keys"][1];
  EXPECT_EQ(x1["use"], "x509-svid");
  EXPECT_EQ(x1["kty"], "RSA");
  EXPECT_EQ(x1["e"], "AQAB");
  const json& k0 = j["keys"][2];
  EXPECT_EQ(k0["use"], "jwt-svid");
  EXPECT_EQ(k0["kid"], "ec-kid");
  EXPECT_EQ(k0["kty"], "EC");
  EXPECT_EQ(k0["crv"], "P-384");
  EXPECT_EQ(Base64UrlDecode(k0["x"].get<std::string>())->size(), 48u);
  EXPECT_FALSE(k0.contains("x5c"));
  const json& k1 = j["keys"][3];
  EXPECT_EQ(k1["kid"], "rsa-kid");
  EXPECT_EQ(k1["kty"], "RSA");
  EXPECT_EQ(Base64UrlDecode(k1["n"].get<std::string>())->size(), 256u);

  Bundle no_hint = f.bundle;
  no_hint.refresh_hint_seconds = 0;
  no_hint.sequence_number = 0;
  json j2 = json::parse(BundleToJwks(no_hint));
  EXPECT_FALSE(j2.contains("spiffe_refresh_hint"));
  EXPECT_EQ(j2["spiffe_sequence"], 0);
}

TEST(BundleTest, JwksRoundTrip) {
  Fixture f = Make();
  auto back = BundleFromJwks(f.bundle.trust_domain, BundleToJwks(f.bundle));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->trust_domain, f.bundle.trust_domain);
  EXPECT_EQ(back->x509_authorities_der, f.bundle.x509_authorities_der);
  ASSERT_EQ(back->jwt_authorities.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->jwt_authorities[i].kid, f.bundle.jwt_authorities[i].kid);
    EXPECT_EQ(back->jwt_authorities[i].public_key_der, f.bundle.jwt_authorities[i].public_key_der);
  }
  EXPECT_EQ(back->sequence_number, 42u);
  EXPECT_EQ(back->refresh_hint_seconds, 300);
  EXPECT_EQ(BundleToJwks(*back), BundleToJwks(f.bundle));
}

TEST(BundleTest, JwtKeysValidateTokens) {
  Fixture f = Make();
  auto keys = JwtKeysFromBundle(f.bundle);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  auto sub = *SpiffeId::Parse("spiffe://example.org/w");
  for (auto [key, kid] : {std::pair{f.jwt_ec.get(), "ec-kid"}, std::pair{f.jwt_rsa.get(), "rsa-kid"}}) {
    auto token = SignJwtSvid(JwtSigner{key, kid}, sub, {"aud"}, kNow, kNow + absl::Minutes(5));
    ASSERT_TRUE(token.ok());
    auto v = ValidateJwtSvid(*token, *keys, "aud", kNow);
    EXPECT_TRUE(v.ok()) << v.status();
  }
  Bundle bad = f.bundle;
  bad.jwt_authorities[0].public_key_der = "junk";
  EXPECT_THAT(JwtKeysFromBundle(bad).status().message(), HasSubstr("ec-kid"));
}

TEST(BundleTest, Pem) {
  Fixture f = Make();
  auto certs = crypto::ParseCertsPem(BundleToPem(f.bundle));
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(crypto::CertToDer((*certs)[0].get()), f.bundle.x509_authorities_der[0]);
  EXPECT_EQ(crypto::CertToDer((*certs)[1].get()), f.bundle.x509_authorities_der[1]);
}

TEST(BundleTest, ParseRejects) {
  Fixture f = Make();
  auto td = f.bundle.trust_domain;
  json good = json::parse(BundleToJwks(f.bundle));
  auto expect_reject = [&](const json& j, const char* why) {
    auto b = BundleFromJwks(td, j.dump());
    ASSERT_FALSE(b.ok()) << why;
    EXPECT_THAT(b.status().message(), HasSubstr(why)) << b.status();
  };
  EXPECT_FALSE(BundleFromJwks(td, "not json").ok());
  EXPECT_FALSE(BundleFromJwks(td, "[]").ok());
  expect_reject(json::object(), "no \"keys\"");
  json j = good;
  j["keys"][0]["x5c"].push_back(j["keys"][1]["x5c"][0]);
  expect_reject(j, "exactly one certificate");
  j = good;
  j["keys"][0].erase("x5c");
  expect_reject(j, "exactly one certificate");
  j = good;
  j["keys"][0]["x5c"][0] = "!!!";
  expect_reject(j, "x5c");
  j = good;
  j["keys"][0]["x5c"][0] = Base64Encode("not a cert");
  expect_reject(j, "x5c");
  j = good;
  j["keys"][0]["x"] = j["keys"][2]["x"];  // key params disagree with the certificate
  j["keys"][0]["crv"] = "P-384";
  j["keys"][0]["y"] = j["keys"][2]["y"];
  expect_reject(j, "do not match");
  j = good;
  j["keys"][2].erase("kid");
  expect_reject(j, "no kid");
  j = good;
  j["keys"][3]["kid"] = "ec-kid";
  expect_reject(j, "duplicate kid");
  j = good;
  j["keys"][2]["x"] = j["keys"][2]["y"];  // point not on the curve
  expect_reject(j, "keys[2]");
  j = good;
  j["keys"][2]["crv"] = "secp256k1";
  expect_reject(j, "unsupported crv");
  j = good;
  j["keys"][2].erase("use");
  expect_reject(j, "no \"use\"");
  j = good;
  j["spiffe_sequence"] = -1;
  expect_reject(j, "spiffe_sequence");
  j = good;
  j["spiffe_sequence"] = "1";
  expect_reject(j, "spiffe_sequence");
}

TEST(BundleTest, UnknownUseIgnoredAndMinimalJwks) {
  Fixture f = Make();
  json j = json::parse(BundleToJwks(f.bundle));
  j["keys"].push_back(json{{"use", "something-else"}, {"kty", "oct"}, {"k", "AAAA"}});
  auto b = BundleFromJwks(f.bundle.trust_domain, j.dump());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->x509_authorities_der.size(), 2u);
  EXPECT_EQ(b->jwt_authorities.size(), 2u);
  // x509-svid entry with x5c only (no key parameters) and no sequence.
  json minimal = {{"keys", {{{"use", "x509-svid"}, {"x5c", {Base64Encode(f.bundle.x509_authorities_der[0])}}}}}};
  auto m = BundleFromJwks(f.bundle.trust_domain, minimal.dump());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->sequence_number, 0u);
  EXPECT_EQ(m->x509_authorities_der.size(), 1u);
}

TEST(BundleTest, JwkHelpers) {
  Fixture f = Make();
  auto jwk = PublicKeyToJwkJson(f.jwt_rsa.get(), "k1", "jwt-svid");
  ASSERT_TRUE(jwk.ok());
  auto key = PublicKeyFromJwkJson(*jwk);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), f.jwt_rsa.get()), 1);
  EXPECT_FALSE(PublicKeyFromJwkJson("{}").ok());
  EXPECT_FALSE(PublicKeyFromJwkJson("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}").ok());  // tiny modulus
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace spirecvm::spiffe
