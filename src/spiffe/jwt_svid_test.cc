#include "spiffe/jwt_svid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/strings.h"
#include "crypto/keys.h"
#include "spiffe/bundle.h"

namespace spirecvm::spiffe {
namespace {

using crypto::KeyType;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kIat = absl::FromUnixSeconds(1750000000);
const absl::Time kExp = kIat + absl::Minutes(5);
const absl::Time kNow = kIat + absl::Minutes(1);

SpiffeId Sub() { return *SpiffeId::Parse("spiffe://example.org/workload"); }

// Signs arbitrary header/claims JSON so each rejection can be exercised with a correctly signed token.
std::string SignRaw(EVP_PKEY* key, const json& header, const json& claims, const EVP_MD* md, bool jose_ec = true,
                    bool pss = false) {
  std::string input = absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
  std::string sig;
  if (pss) {
    ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
  } else {
    sig = *crypto::SignDigestInfo(key, md, input);
  }
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && jose_ec) {
    size_t n = static_cast<size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ssl::EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es.get(), &r, &s);
    std::string raw(2 * n, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n));
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + n, static_cast<int>(n));
    sig = raw;
  }
  return absl::StrCat(input, ".", Base64UrlEncode(sig));
}

json GoodClaims() {
  return json{{"sub", "spiffe://example.org/workload"},
              {"aud", "svc"},
              {"exp", absl::ToUnixSeconds(kExp)},
              {"iat", absl::ToUnixSeconds(kIat)}};
}

struct KeySet {
  ssl::EvpPkeyPtr priv;
  std::vector<JwtKey> keys;
};

KeySet MakeKeys(KeyType t, const std::string& kid) {
  KeySet ks;
  ks.priv = *crypto::GenerateKey(t);
  auto spki = crypto::PublicKeyToDer(ks.priv.get());
  ks.keys.push_back(JwtKey{kid, *crypto::PublicKeyFromDer(*spki)});
  return ks;
}

class JwtRoundTripTest : public ::testing::TestWithParam<std::pair<KeyType, const char*>> {};

TEST_P(JwtRoundTripTest, SignValidate) {
  auto [type, alg] = GetParam();
  KeySet ks = MakeKeys(type, "kid-1");
  auto token = SignJwtSvid(JwtSigner{ks.priv.get(), "kid-1"}, Sub(), {"svc"}, kIat, kExp);
  ASSERT_TRUE(token.ok()) << token.status();
  std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  json header = json::parse(*Base64UrlDecode(parts[0]));
  EXPECT_EQ(header, (json{{"alg", alg}, {"kid", "kid-1"}, {"typ", "JWT"}}));
  json claims = json::parse(*Base64UrlDecode(parts[1]));
  EXPECT_EQ(claims["aud"], "svc");  // a single audience is a string, as SPIRE
  EXPECT_EQ(claims["sub"], "spiffe://example.org/workload");
  EXPECT_EQ(claims["exp"], absl::ToUnixSeconds(kExp));
  EXPECT_EQ(claims["iat"], absl::ToUnixSeconds(kIat));
  if (type != KeyType::kRsa2048) {
    EXPECT_EQ(Base64UrlDecode(parts[2])->size(), type == KeyType::kEcP256 ? 64u : 96u);
  }

  auto v = ValidateJwtSvid(*token, ks.keys, "svc", kNow);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->sub, Sub());
  EXPECT_THAT(v->audience, ElementsAre("svc"));
  EXPECT_EQ(v->expiry, kExp);
  EXPECT_EQ(json::parse(v->claims_json), claims);

  auto multi = SignJwtSvid(JwtSigner{ks.priv.get(), "kid-1"}, Sub(), {"a", "b"}, kIat, kExp);
  ASSERT_TRUE(multi.ok());
  auto mv = ValidateJwtSvid(*multi, ks.keys, "b", kNow);
  ASSERT_TRUE(mv.ok()) << mv.status();
  EXPECT_THAT(mv->audience, ElementsAre("a", "b"));
  std::vector<std::string> mparts = absl::StrSplit(*multi, '.');
  EXPECT_TRUE(json::parse(*Base64UrlDecode(mparts[1]))["aud"].is_array());
}

INSTANTIATE_TEST_SUITE_P(Algs, JwtRoundTripTest,
                         ::testing::Values(std::make_pair(KeyType::kEcP256, "ES256"),
                                           std::make_pair(KeyType::kEcP384, "ES384"),
                                           std::make_pair(KeyType::kRsa2048, "RS256")),
                         [](const auto& info) { return std::string(info.param.second); });

class JwtRejectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ec_ = MakeKeys(KeyType::kEcP256, "ec");
    rsa_ = MakeKeys(KeyType::kRsa2048, "rsa");
    keys_.push_back(JwtKey{"ec", crypto::ShareKey(ec_.keys[0].key.get())});
    keys_.push_back(JwtKey{"rsa", crypto::ShareKey(rsa_.keys[0].key.get())});
  }
  void ExpectReject(const std::string& token, const char* why, std::string_view aud = "svc", absl::Time now = kNow) {
    auto v = ValidateJwtSvid(token, keys_, aud, now);
    ASSERT_FALSE(v.ok()) << why;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(v.status().message(), HasSubstr(why)) << v.status();
  }
  std::string Ec(const json& h, const json& c) { return SignRaw(ec_.priv.get(), h, c, EVP_sha256()); }
  json EcHeader() { return json{{"alg", "ES256"}, {"kid", "ec"}, {"typ", "JWT"}}; }
  KeySet ec_, rsa_;
  std::vector<JwtKey> keys_;
};

TEST_F(JwtRejectTest, ControlTokensPass) {
  EXPECT_TRUE(ValidateJwtSvid(Ec(EcHeader(), GoodClaims()), keys_, "svc", kNow).ok());
  json h = EcHeader();
  h.erase("typ");  // typ is optional
  EXPECT_TRUE(ValidateJwtSvid(Ec(h, GoodClaims()), keys_, "svc", kNow).ok());
  h["typ"] = "JOSE";
  EXPECT_TRUE(ValidateJwtSvid(Ec(h, GoodClaims()), keys_, "svc", kNow).ok());
  // RS384 / RS512 / PS256 / PS384 from an RSA authority.
  for (auto [alg, md, pss] : {std::tuple{"RS384", EVP_sha384(), false}, std::tuple{"RS512", EVP_sha512(), false},
                              std::tuple{"PS256", EVP_sha256(), true}, std::tuple{"PS384", EVP_sha384(), true}}) {
    std::string t = SignRaw(rsa_.priv.get(), json{{"alg", alg}, {"kid", "rsa"}}, GoodClaims(), md, true, pss);
    auto v = ValidateJwtSvid(t, keys_, "svc", kNow);
    EXPECT_TRUE(v.ok()) << alg << ": " << v.status();
  }
}

TEST_F(JwtRejectTest, Malformed) {
  std::string good = Ec(EcHeader(), GoodClaims());
  ExpectReject("", "3 dot-separated parts");
  ExpectReject("a.b", "3 dot-separated parts");
  ExpectReject(good + ".x", "3 dot-separated parts");
  ExpectReject("!!!.e30.e30", "malformed header");
  ExpectReject(absl::StrCat(Base64UrlEncode("not json"), ".e30.e30"), "not valid JSON");
  ExpectReject(absl::StrCat(Base64UrlEncode("[1]"), ".e30.e30"), "not a JSON object");
  std::vector<std::string> p = absl::StrSplit(good, '.');
  ExpectReject(absl::StrCat(p[0], ".", p[1], "=.", p[2]), "malformed payload");
  // Duplicate claim names (parser-differential attack): rejected even under a valid signature.
  std::string dup_claims = R"({"sub":"spiffe://example.org/workload","aud":"svc","exp":)" +
                           std::to_string(absl::ToUnixSeconds(kExp)) + R"(,"sub":"spiffe://example.org/admin"})";
  std::string dup_input = absl::StrCat(Base64UrlEncode(EcHeader().dump()), ".", Base64UrlEncode(dup_claims));
  std::string der = *crypto::SignDigestInfo(ec_.priv.get(), EVP_sha256(), dup_input);
  const unsigned char* dp = reinterpret_cast<const unsigned char*>(der.data());
  ssl::EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &dp, static_cast<long>(der.size())));
  const BIGNUM *r, *s;
  ECDSA_SIG_get0(es.get(), &r, &s);
  std::string raw(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ExpectReject(absl::StrCat(dup_input, ".", Base64UrlEncode(raw)), "duplicate member name");
  // Nested objects may reuse names of the outer object.
  json nested = GoodClaims();
  nested["ext"] = {{"sub", "x"}};
  EXPECT_TRUE(ValidateJwtSvid(Ec(EcHeader(), nested), keys_, "svc", kNow).ok());
  ExpectReject(absl::StrCat(p[0], ".", p[1], ".", p[2], "="), "malformed signature");
}

TEST_F(JwtRejectTest, AlgNoneAndUnsupported) {
  json h = {{"alg", "none"}, {"kid", "ec"}, {"typ", "JWT"}};
  std::string none = absl::StrCat(Base64UrlEncode(h.dump()), ".", Base64UrlEncode(GoodClaims().dump()), ".");
  ExpectReject(none, "alg none");
  h["alg"] = "HS256";
  std::string hs =
      absl::StrCat(Base64UrlEncode(h.dump()), ".", Base64UrlEncode(GoodClaims().dump()), ".", Base64UrlEncode("x"));
  ExpectReject(hs, "unsupported alg");
  h["alg"] = "EdDSA";
  ExpectReject(absl::StrCat(Base64UrlEncode(h.dump()), ".", Base64UrlEncode(GoodClaims().dump()), ".eA"),
               "unsupported alg");
  h.erase("alg");
  ExpectReject(absl::StrCat(Base64UrlEncode(h.dump()), ".", Base64UrlEncode(GoodClaims().dump()), ".eA"), "no alg");
}

TEST_F(JwtRejectTest, AlgKeyMismatch) {
  // RS256 header naming the EC key.
  ExpectReject(SignRaw(rsa_.priv.get(), json{{"alg", "RS256"}, {"kid", "ec"}}, GoodClaims(), EVP_sha256()),
               "does not match the key type");
  // ES384 header naming the P-256 key.
  ExpectReject(SignRaw(ec_.priv.get(), json{{"alg", "ES384"}, {"kid", "ec"}}, GoodClaims(), EVP_sha384()),
               "does not match the key type");
  // ES256 header naming the RSA key.
  ExpectReject(Ec(json{{"alg", "ES256"}, {"kid", "rsa"}}, GoodClaims()), "does not match the key type");
}

TEST_F(JwtRejectTest, UnknownOrMissingKid) {
  ExpectReject(Ec(json{{"alg", "ES256"}, {"kid", "nope"}}, GoodClaims()), "unknown kid");
  ExpectReject(Ec(json{{"alg", "ES256"}}, GoodClaims()), "no kid");
}

TEST_F(JwtRejectTest, BadSignature) {
  std::string good = Ec(EcHeader(), GoodClaims());
  std::vector<std::string> p = absl::StrSplit(good, '.');
  std::string sig = *Base64UrlDecode(p[2]);
  sig[10] ^= 1;
  ExpectReject(absl::StrCat(p[0], ".", p[1], ".", Base64UrlEncode(sig)), "signature does not verify");
  // Claims swapped under a valid signature.
  json other = GoodClaims();
  other["sub"] = "spiffe://example.org/attacker";
  ExpectReject(absl::StrCat(p[0], ".", Base64UrlEncode(other.dump()), ".", p[2]), "signature does not verify");
  // DER-encoded ECDSA instead of JOSE R||S.
  ExpectReject(SignRaw(ec_.priv.get(), EcHeader(), GoodClaims(), EVP_sha256(), /*jose_ec=*/false), "ECDSA signature");
  // Signed by another key with the same kid.
  KeySet other_key = MakeKeys(KeyType::kEcP256, "ec");
  ExpectReject(SignRaw(other_key.priv.get(), EcHeader(), GoodClaims(), EVP_sha256()), "signature does not verify");
  // RS256 with PSS padding.
  ExpectReject(SignRaw(rsa_.priv.get(), json{{"alg", "RS256"}, {"kid", "rsa"}}, GoodClaims(), EVP_sha256(), true, true),
               "signature does not verify");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(JwtRejectTest, Expiry) {
  std::string t = Ec(EcHeader(), GoodClaims());
  ExpectReject(t, "expired", "svc", kExp);  // exp == now is expired
  ExpectReject(t, "expired", "svc", kExp + absl::Seconds(1));
  EXPECT_TRUE(ValidateJwtSvid(t, keys_, "svc", kExp - absl::Seconds(1)).ok());
  json c = GoodClaims();
  c["nbf"] = absl::ToUnixSeconds(kNow + absl::Seconds(30));
  ExpectReject(Ec(EcHeader(), c), "not valid yet");
  c = GoodClaims();
  c["exp"] = "tomorrow";
  ExpectReject(Ec(EcHeader(), c), "exp claim is not a number");
}

TEST_F(JwtRejectTest, MissingClaims) {
  for (const char* name : {"exp", "aud", "sub"}) {
    json c = GoodClaims();
    c.erase(name);
    ExpectReject(Ec(EcHeader(), c), absl::StrCat("missing ", name).c_str());
  }
  json c = GoodClaims();
  c["aud"] = json::array();
  ExpectReject(Ec(EcHeader(), c), "aud claim is empty");
  c["aud"] = 5;
  ExpectReject(Ec(EcHeader(), c), "aud claim is neither");
}

TEST_F(JwtRejectTest, Audience) {
  std::string t = Ec(EcHeader(), GoodClaims());
  ExpectReject(t, "audience mismatch", "other");
  ExpectReject(t, "audience mismatch", "sv");
  ExpectReject(t, "audience to validate against is required", "");
  json c = GoodClaims();
  c["aud"] = {"a", "b"};
  ExpectReject(Ec(EcHeader(), c), "audience mismatch", "svc");
  EXPECT_TRUE(ValidateJwtSvid(Ec(EcHeader(), c), keys_, "a", kNow).ok());
}

TEST_F(JwtRejectTest, Typ) {
  json h = EcHeader();
  h["typ"] = "at+jwt";
  ExpectReject(Ec(h, GoodClaims()), "typ header must be JWT or JOSE");
  h["typ"] = 1;
  ExpectReject(Ec(h, GoodClaims()), "typ header must be JWT or JOSE");
  h = EcHeader();
  h["crit"] = {"exp"};
  ExpectReject(Ec(h, GoodClaims()), "crit");
}

TEST_F(JwtRejectTest, SubNotSpiffeId) {
  for (const json& sub :
       {json("https://example.org/x"), json("spiffe://Example.org/x"), json("spiffe://example.org/"), json(5)}) {
    json c = GoodClaims();
    c["sub"] = sub;
    auto v = ValidateJwtSvid(Ec(EcHeader(), c), keys_, "svc", kNow);
    ASSERT_FALSE(v.ok()) << sub;
    EXPECT_THAT(v.status().message(), HasSubstr("sub claim")) << v.status();
  }
}

TEST(JwtSvidTest, SignRejectsBadInput) {
  KeySet ks = MakeKeys(KeyType::kEcP256, "k");
  EXPECT_FALSE(SignJwtSvid(JwtSigner{ks.priv.get(), "k"}, Sub(), {}, kIat, kExp).ok());
  EXPECT_FALSE(SignJwtSvid(JwtSigner{ks.priv.get(), ""}, Sub(), {"a"}, kIat, kExp).ok());
  EXPECT_FALSE(SignJwtSvid(JwtSigner{ks.priv.get(), "k"}, Sub(), {"a"}, kExp, kIat).ok());
  EXPECT_FALSE(SignJwtSvid(JwtSigner{nullptr, "k"}, Sub(), {"a"}, kIat, kExp).ok());
  EXPECT_FALSE(SignJwtSvid(JwtSigner{ks.priv.get(), "k"}, SpiffeId(), {"a"}, kIat, kExp).ok());
}

TEST(JwtSvidTest, ParseInsecure) {
  KeySet ks = MakeKeys(KeyType::kEcP256, "k");
  auto token = SignJwtSvid(JwtSigner{ks.priv.get(), "k"}, Sub(), {"x", "y"}, kIat, kExp);
  ASSERT_TRUE(token.ok());
  auto c = ParseJwtSvidInsecure(*token);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sub, Sub());
  EXPECT_THAT(c->audience, ElementsAre("x", "y"));
  EXPECT_EQ(c->expiry, kExp);
  EXPECT_FALSE(ParseJwtSvidInsecure("garbage").ok());
}

TEST(JwtSvidTest, NewJwtKeyId) {
  std::string a = NewJwtKeyId(SystemRandom::Get());
  std::string b = NewJwtKeyId(SystemRandom::Get());
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  for (char c : a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
}

// Independent validation with PyJWT against the JWKS bundle we produce.
TEST(JwtSvidTest, PyJwtValidatesOurTokens) {
  const char* python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no /usr/bin/python3";
  std::string script = std::string(SPIRECVM_SOURCE_DIR) + "/src/spiffe/testdata/pyjwt_validate.py";
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("pyjwt_", getpid());
  std::filesystem::create_directories(dir);
  absl::Time now = absl::Now();
  for (KeyType t : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048}) {
    SCOPED_TRACE(std::string(crypto::KeyTypeName(t)));
    auto key = crypto::GenerateKey(t);
    ASSERT_TRUE(key.ok());
    std::string kid = absl::StrCat("kid-", ToAbsl(crypto::KeyTypeName(t)));
    Bundle b;
    b.trust_domain = *TrustDomain::Parse("example.org");
    b.jwt_authorities.push_back(JwtAuthority{kid, *crypto::PublicKeyToDer(key->get()), now + absl::Hours(1)});
    b.sequence_number = 3;
    std::ofstream(dir / "bundle.json") << BundleToJwks(b);
    auto run = [&](const std::string& token, const std::string& aud) {
      std::ofstream(dir / "token.txt") << token;
      std::string cmd = absl::StrCat(python, " ", script, " ", (dir / "bundle.json").string(), " ",
                                     (dir / "token.txt").string(), " ", aud, " spiffe://example.org/workload");
      int rc = std::system(cmd.c_str());
      return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    auto token = SignJwtSvid(JwtSigner{key->get(), kid}, Sub(), {"svc", "other"}, now, now + absl::Minutes(5));
    ASSERT_TRUE(token.ok());
    int rc = run(*token, "svc");
    if (rc == 77) GTEST_SKIP() << "python3-jwt not installed";
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(run(*token, "wrong-audience"), 1);
    // Tampered signature: PyJWT must reject it too.
    std::string bad = *token;
    bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
    EXPECT_EQ(run(bad, "svc"), 1);
    // Expired token.
    auto old = SignJwtSvid(JwtSigner{key->get(), kid}, Sub(), {"svc"}, now - absl::Hours(2), now - absl::Hours(1));
    EXPECT_EQ(run(*old, "svc"), 1);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::spiffe
