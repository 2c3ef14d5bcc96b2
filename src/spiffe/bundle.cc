#include "spiffe/bundle.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace spirecvm::spiffe {
namespace {

using json = nlohmann::json;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ssl::Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ssl::Deleter<OSSL_PARAM_free>>;

absl::Status Invalid(std::string_view why) { return absl::InvalidArgumentError(absl::StrCat("bundle: ", ToAbsl(why))); }

absl::StatusOr<std::string> BnParam(const EVP_PKEY* key, const char* name, size_t pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return absl::InternalError(absl::StrCat("JWK: key parameter ", name, ": ", ssl::DrainErrors()));
  }
  ssl::BignumPtr bn(raw);
  size_t len = std::max(pad, static_cast<size_t>(BN_num_bytes(bn.get())));
  std::string out(len, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(len)) < 0) {
    return absl::InternalError("JWK: key parameter encoding");
  }
  return out;
}

absl::StatusOr<json> KeyToJwk(const EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    int bits = EVP_PKEY_get_bits(key);
    std::string crv = bits == 256 ? "P-256" : bits == 384 ? "P-384" : bits == 521 ? "P-521" : "";
    if (crv.empty()) return absl::InvalidArgumentError(absl::StrCat("JWK: unsupported EC curve size ", bits));
    size_t n = static_cast<size_t>((bits + 7) / 8);
    ASSIGN_OR_RETURN(auto x, BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, n));
    ASSIGN_OR_RETURN(auto y, BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, n));
    return json{{"kty", "EC"}, {"crv", crv}, {"x", Base64UrlEncode(x)}, {"y", Base64UrlEncode(y)}};
  }
  if (id == EVP_PKEY_RSA) {
    ASSIGN_OR_RETURN(auto nn, BnParam(key, OSSL_PKEY_PARAM_RSA_N, 0));
    ASSIGN_OR_RETURN(auto e, BnParam(key, OSSL_PKEY_PARAM_RSA_E, 0));
    return json{{"kty", "RSA"}, {"n", Base64UrlEncode(nn)}, {"e", Base64UrlEncode(e)}};
  }
  return absl::InvalidArgumentError(absl::StrCat("JWK: unsupported key algorithm ", id));
}

absl::StatusOr<std::string> B64UrlField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return Invalid(absl::StrCat("JWK has no \"", name, "\" string"));
  auto v = Base64UrlDecode(it->get<std::string>());
  if (!v.ok()) return Invalid(absl::StrCat("JWK \"", name, "\": ", v.status().message()));
  if (v->empty()) return Invalid(absl::StrCat("JWK \"", name, "\" is empty"));
  return v;
}

// OpenSSL's public-key validation (RSA modulus, EC point on the curve), applied to every key a bundle accepts, from
// JWK parameters or from an x5c certificate alike, so that a bundle we accept is one we can write and read back.
absl::Status CheckPublicKey(EVP_PKEY* key, std::string_view what) {
  ssl::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Invalid(absl::StrCat(ToAbsl(what), " fails validation: ", ssl::DrainErrors()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ssl::EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  ssl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Invalid(absl::StrCat("JWK: cannot build ", type, " key: ", ssl::DrainErrors()));
  }
  ssl::EvpPkeyPtr key(raw);
  RETURN_IF_ERROR(CheckPublicKey(key.get(), absl::StrCat("JWK: ", type, " public key")));
  return key;
}

absl::StatusOr<ssl::EvpPkeyPtr> JwkToKey(const json& j) {
  auto kty = j.find("kty");
  if (kty == j.end() || !kty->is_string()) return Invalid("JWK has no \"kty\"");
  std::string t = kty->get<std::string>();
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return absl::InternalError("JWK: OSSL_PARAM_BLD_new");
  if (t == "EC") {
    auto crv = j.find("crv");
    if (crv == j.end() || !crv->is_string()) return Invalid("EC JWK has no \"crv\"");
    std::string c = crv->get<std::string>();
    const char* group = c == "P-256" ? "prime256v1" : c == "P-384" ? "secp384r1" : c == "P-521" ? "secp521r1" : nullptr;
    size_t n = c == "P-256" ? 32 : c == "P-384" ? 48 : 66;
    if (group == nullptr) return Invalid(absl::StrCat("EC JWK: unsupported crv \"", c, "\""));
    ASSIGN_OR_RETURN(auto x, B64UrlField(j, "x"));
    ASSIGN_OR_RETURN(auto y, B64UrlField(j, "y"));
    if (x.size() != n || y.size() != n) {
      return Invalid(absl::StrCat("EC JWK: x/y must be ", n, " bytes for ", c));
    }
    std::string point = absl::StrCat(std::string(1, '\x04'), x, y);
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
      return absl::InternalError("JWK: params");
    }
    return FromData("EC", bld.get());
  }
  if (t == "RSA") {
    ASSIGN_OR_RETURN(auto nn, B64UrlField(j, "n"));
    ASSIGN_OR_RETURN(auto e, B64UrlField(j, "e"));
    ssl::BignumPtr bn_n(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(nn.data()), static_cast<int>(nn.size()), nullptr));
    ssl::BignumPtr bn_e(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
    if (!bn_n || !bn_e || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
      return absl::InternalError("JWK: params");
    }
    if (BN_num_bits(bn_n.get()) < 2048) return Invalid("RSA JWK: modulus shorter than 2048 bits");
    return FromData("RSA", bld.get());
  }
  return Invalid(absl::StrCat("JWK: unsupported kty \"", t, "\""));
}

}  // namespace

absl::StatusOr<std::string> PublicKeyToJwkJson(const EVP_PKEY* key, std::string_view kid, std::string_view use) {
  if (key == nullptr) return absl::InvalidArgumentError("JWK: key is null");
  try {
    ASSIGN_OR_RETURN(auto j, KeyToJwk(key));
    if (!kid.empty()) j["kid"] = std::string(kid);
    if (!use.empty()) j["use"] = std::string(use);
    return j.dump();
  } catch (const json::exception& e) {
    return absl::InternalError(absl::StrCat("JWK: JSON: ", e.what()));
  }
}

absl::StatusOr<ssl::EvpPkeyPtr> PublicKeyFromJwkJson(std::string_view jwk_json) {
  json j = json::parse(jwk_json.begin(), jwk_json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Invalid("JWK is not a JSON object");
  try {
    return JwkToKey(j);
  } catch (const json::exception& e) {
    return Invalid(absl::StrCat("JWK: malformed JSON: ", e.what()));
  }
}

std::string BundleToJwks(const Bundle& b) {
  json keys = json::array();
  for (const auto& der : b.x509_authorities_der) {
    auto cert = crypto::ParseCertDer(der);
    if (!cert.ok()) continue;
    auto jwk = KeyToJwk(X509_get0_pubkey(cert->get()));
    if (!jwk.ok()) continue;
    (*jwk)["use"] = "x509-svid";
    (*jwk)["x5c"] = json::array({Base64Encode(der)});
    keys.push_back(*std::move(jwk));
  }
  for (const auto& a : b.jwt_authorities) {
    auto key = crypto::PublicKeyFromDer(a.public_key_der);
    if (!key.ok()) continue;
    auto jwk = KeyToJwk(key->get());
    if (!jwk.ok()) continue;
    (*jwk)["use"] = "jwt-svid";
    (*jwk)["kid"] = a.kid;
    keys.push_back(*std::move(jwk));
  }
  json out = {{"keys", std::move(keys)}, {"spiffe_sequence", b.sequence_number}};
  if (b.refresh_hint_seconds != 0) out["spiffe_refresh_hint"] = b.refresh_hint_seconds;
  return out.dump();
}

namespace {

// spiffe_sequence and spiffe_refresh_hint, when present.
absl::Status ReadBundleMetadata(const json& j, Bundle& b) {
  if (auto seq = j.find("spiffe_sequence"); seq != j.end()) {
    if (!seq->is_number_unsigned() && !(seq->is_number_integer() && seq->get<int64_t>() >= 0)) {
      return Invalid("spiffe_sequence is not a non-negative integer");
    }
    b.sequence_number = seq->get<uint64_t>();
  }
  if (auto hint = j.find("spiffe_refresh_hint"); hint != j.end()) {
    if (!hint->is_number_integer()) return Invalid("spiffe_refresh_hint is not an integer");
    b.refresh_hint_seconds = hint->get<int64_t>();
  }
  return absl::OkStatus();
}

// An x509-svid JWK: exactly one x5c certificate, and key parameters (when present) that are its key. Returns the DER.
absl::StatusOr<std::string> X509AuthorityFromJwk(const json& k, const std::string& where) {
  auto x5c = k.find("x5c");
  if (x5c == k.end() || !x5c->is_array() || x5c->size() != 1 || !(*x5c)[0].is_string()) {
    return Invalid(absl::StrCat(where, ": x509-svid entry must have x5c with exactly one certificate"));
  }
  auto der = Base64Decode((*x5c)[0].get<std::string>());
  if (!der.ok()) return Invalid(absl::StrCat(where, ": x5c: ", der.status().message()));
  auto cert = crypto::ParseCertDer(*der);
  if (!cert.ok()) return Invalid(absl::StrCat(where, ": x5c: ", cert.status().message()));
  EVP_PKEY* cert_key = X509_get0_pubkey(cert->get());
  if (cert_key == nullptr) return Invalid(absl::StrCat(where, ": x5c: the certificate's key cannot be read"));
  RETURN_IF_ERROR(CheckPublicKey(cert_key, absl::StrCat(where, ": x5c: the certificate's key")));
  if (k.contains("kty")) {
    auto key = JwkToKey(k);
    if (!key.ok()) return Invalid(absl::StrCat(where, ": ", key.status().message()));
    if (EVP_PKEY_eq(key->get(), X509_get0_pubkey(cert->get())) != 1) {
      ssl::DrainErrors();
      return Invalid(absl::StrCat(where, ": key parameters do not match the x5c certificate"));
    }
  }
  return *std::move(der);
}

// A jwt-svid JWK: a kid not seen before in this bundle (added to `kids`) and a public key.
absl::StatusOr<JwtAuthority> JwtAuthorityFromJwk(const json& k, const std::string& where,
                                                 absl::flat_hash_set<std::string>& kids) {
  auto kid = k.find("kid");
  if (kid == k.end() || !kid->is_string() || kid->get<std::string>().empty()) {
    return Invalid(absl::StrCat(where, ": jwt-svid entry has no kid"));
  }
  std::string kid_s = kid->get<std::string>();
  if (!kids.insert(kid_s).second) return Invalid(absl::StrCat(where, ": duplicate kid \"", kid_s, "\""));
  auto key = JwkToKey(k);
  if (!key.ok()) return Invalid(absl::StrCat(where, ": ", key.status().message()));
  ASSIGN_OR_RETURN(std::string spki, crypto::PublicKeyToDer(key->get()));
  return JwtAuthority{kid_s, std::move(spki), absl::InfinitePast()};
}

}  // namespace

absl::StatusOr<Bundle> BundleFromJwks(const TrustDomain& td, std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return Invalid("not valid JSON");
  if (!j.is_object()) return Invalid("not a JSON object");
  Bundle b;
  b.trust_domain = td;
  try {
    auto keys = j.find("keys");
    if (keys == j.end() || !keys->is_array()) return Invalid("no \"keys\" array");
    RETURN_IF_ERROR(ReadBundleMetadata(j, b));
    absl::flat_hash_set<std::string> kids;
    for (size_t i = 0; i < keys->size(); ++i) {
      const json& k = (*keys)[i];
      std::string where = absl::StrCat("keys[", i, "]");
      if (!k.is_object()) return Invalid(absl::StrCat(where, " is not an object"));
      auto use = k.find("use");
      if (use == k.end() || !use->is_string()) return Invalid(absl::StrCat(where, " has no \"use\""));
      std::string u = use->get<std::string>();
      if (u == "x509-svid") {
        ASSIGN_OR_RETURN(std::string der, X509AuthorityFromJwk(k, where));
        b.x509_authorities_der.push_back(std::move(der));
      } else if (u == "jwt-svid") {
        ASSIGN_OR_RETURN(JwtAuthority a, JwtAuthorityFromJwk(k, where, kids));
        b.jwt_authorities.push_back(std::move(a));
      }
      // Other "use" values are ignored, as the SPIFFE bundle format requires.
    }
  } catch (const json::exception& e) {
    return Invalid(absl::StrCat("malformed JSON: ", e.what()));
  }
  return b;
}

std::string BundleToPem(const Bundle& b) {
  std::string out;
  for (const auto& der : b.x509_authorities_der) {
    auto cert = crypto::ParseCertDer(der);
    if (cert.ok()) out += crypto::CertToPem(cert->get());
  }
  return out;
}

absl::StatusOr<std::vector<JwtKey>> JwtKeysFromBundle(const Bundle& b) {
  std::vector<JwtKey> out;
  for (const auto& a : b.jwt_authorities) {
    auto key = crypto::PublicKeyFromDer(a.public_key_der);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bundle ", b.trust_domain.name(), ": JWT authority \"", a.kid, "\": ", key.status().message()));
    }
    out.push_back(JwtKey{a.kid, *std::move(key)});
  }
  return out;
}

}  // namespace spirecvm::spiffe
