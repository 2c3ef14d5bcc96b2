#include "spiffe/jwt_svid.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/keys.h"

namespace spirecvm::spiffe {
namespace {

using json = nlohmann::json;

absl::Status Invalid(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("JWT-SVID: ", ToAbsl(why)));
}

struct AlgInfo {
  std::string_view name;
  const EVP_MD* md;
  enum Family { kRs, kPs, kEs } family;
  int ec_bits;  // curve size for ES*
};

std::optional<AlgInfo> LookupAlg(std::string_view alg) {
  if (alg == "RS256") return AlgInfo{alg, EVP_sha256(), AlgInfo::kRs, 0};
  if (alg == "RS384") return AlgInfo{alg, EVP_sha384(), AlgInfo::kRs, 0};
  if (alg == "RS512") return AlgInfo{alg, EVP_sha512(), AlgInfo::kRs, 0};
  if (alg == "PS256") return AlgInfo{alg, EVP_sha256(), AlgInfo::kPs, 0};
  if (alg == "PS384") return AlgInfo{alg, EVP_sha384(), AlgInfo::kPs, 0};
  if (alg == "PS512") return AlgInfo{alg, EVP_sha512(), AlgInfo::kPs, 0};
  if (alg == "ES256") return AlgInfo{alg, EVP_sha256(), AlgInfo::kEs, 256};
  if (alg == "ES384") return AlgInfo{alg, EVP_sha384(), AlgInfo::kEs, 384};
  if (alg == "ES512") return AlgInfo{alg, EVP_sha512(), AlgInfo::kEs, 521};
  return std::nullopt;
}

absl::Status CheckKeyMatchesAlg(const EVP_PKEY* key, const AlgInfo& alg) {
  int id = EVP_PKEY_get_base_id(key);
  int bits = EVP_PKEY_get_bits(key);
  if (alg.family == AlgInfo::kEs) {
    if (id != EVP_PKEY_EC || bits != alg.ec_bits) {
      return Invalid(absl::StrCat("alg ", ToAbsl(alg.name), " does not match the key type of the kid"));
    }
  } else if (id != EVP_PKEY_RSA) {
    return Invalid(absl::StrCat("alg ", ToAbsl(alg.name), " does not match the key type of the kid (not RSA)"));
  }
  return absl::OkStatus();
}

size_t EcCoordSize(int bits) { return static_cast<size_t>((bits + 7) / 8); }

absl::StatusOr<std::string> DerToJoseEcdsa(std::string_view der, size_t n) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return absl::InternalError(absl::StrCat("JWT-SVID sign: ECDSA DER: ", ssl::DrainErrors()));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, static_cast<int>(n)) < 0 || BN_bn2binpad(s, o + n, static_cast<int>(n)) < 0) {
    return absl::InternalError("JWT-SVID sign: ECDSA R/S too large");
  }
  return out;
}

absl::StatusOr<std::string> JoseEcdsaToDer(std::string_view raw, size_t n) {
  if (raw.size() != 2 * n) {
    return Invalid(absl::StrCat("ECDSA signature is ", raw.size(), " bytes; expected ", 2 * n));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  ssl::BignumPtr r(BN_bin2bn(p, static_cast<int>(n), nullptr));
  ssl::BignumPtr s(BN_bin2bn(p + n, static_cast<int>(n), nullptr));
  ssl::EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return absl::InternalError(absl::StrCat("JWT-SVID: ECDSA_SIG: ", ssl::DrainErrors()));
  }
  r.release();
  s.release();
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return absl::InternalError(absl::StrCat("JWT-SVID: ECDSA DER: ", ssl::DrainErrors()));
  ssl::OpensslBytesPtr owned(der);
  return std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len));
}

struct Parts {
  json header;
  json claims;
  std::string claims_json;
  std::string signing_input;
  std::string signature;
};

// Duplicate member names are rejected: different JOSE libraries keep different duplicates, and a
// token must mean the same thing to every validator.
absl::StatusOr<json> ParseObject(std::string_view what, std::string_view text) {
  std::vector<std::vector<std::string>> seen;  // member names per open object
  bool duplicate = false;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      seen.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!seen.empty()) seen.pop_back();
    } else if (ev == json::parse_event_t::key && !seen.empty() && parsed.is_string()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      for (const auto& prev : seen.back()) duplicate = duplicate || prev == k;
      seen.back().push_back(k);
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid(absl::StrCat(ToAbsl(what), " is not valid JSON"));
  if (duplicate) return Invalid(absl::StrCat(ToAbsl(what), " has a duplicate member name"));
  if (!j.is_object()) return Invalid(absl::StrCat(ToAbsl(what), " is not a JSON object"));
  return j;
}

absl::StatusOr<Parts> Split(std::string_view token) {
  std::vector<std::string> segs = absl::StrSplit(ToAbsl(token), '.');
  if (segs.size() != 3) {
    return Invalid(absl::StrCat("malformed token: expected 3 dot-separated parts (JWS compact), got ", segs.size()));
  }
  Parts out;
  auto header = Base64UrlDecode(segs[0]);
  if (!header.ok()) return Invalid(absl::StrCat("malformed header: ", header.status().message()));
  auto payload = Base64UrlDecode(segs[1]);
  if (!payload.ok()) return Invalid(absl::StrCat("malformed payload: ", payload.status().message()));
  auto sig = Base64UrlDecode(segs[2]);
  if (!sig.ok()) return Invalid(absl::StrCat("malformed signature: ", sig.status().message()));
  ASSIGN_OR_RETURN(auto h, ParseObject("header", *header));
  ASSIGN_OR_RETURN(auto c, ParseObject("claims", *payload));
  out.header = std::move(h);
  out.claims = std::move(c);
  out.claims_json = *std::move(payload);
  out.signing_input = absl::StrCat(segs[0], ".", segs[1]);
  out.signature = *std::move(sig);
  return out;
}

absl::StatusOr<absl::Time> NumericDate(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return Invalid(absl::StrCat("missing ", name, " claim"));
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 2)) {
      return Invalid(absl::StrCat(name, " claim out of range"));
    }
    return absl::FromUnixSeconds(static_cast<int64_t>(v));
  }
  if (it->is_number_integer()) return absl::FromUnixSeconds(it->get<int64_t>());
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 1e15) return Invalid(absl::StrCat(name, " claim out of range"));
    return absl::FromUnixSeconds(static_cast<int64_t>(std::floor(d)));
  }
  return Invalid(absl::StrCat(name, " claim is not a number"));
}

absl::StatusOr<JwtSvidClaims> ExtractClaims(const Parts& parts) {
  JwtSvidClaims out;
  const json& c = parts.claims;
  auto sub = c.find("sub");
  if (sub == c.end()) return Invalid("missing sub claim");
  if (!sub->is_string()) return Invalid("sub claim is not a string");
  auto id = SpiffeId::Parse(sub->get<std::string>());
  if (!id.ok()) return Invalid(absl::StrCat("sub claim is not a SPIFFE ID: ", id.status().message()));
  out.sub = *std::move(id);
  auto aud = c.find("aud");
  if (aud == c.end()) return Invalid("missing aud claim");
  if (aud->is_string()) {
    out.audience.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return Invalid("aud claim contains a non-string value");
      out.audience.push_back(a.get<std::string>());
    }
  } else {
    return Invalid("aud claim is neither a string nor an array of strings");
  }
  if (out.audience.empty()) return Invalid("aud claim is empty");
  ASSIGN_OR_RETURN(auto exp, NumericDate(c, "exp"));
  out.expiry = exp;
  out.claims_json = parts.claims_json;
  return out;
}

absl::Status CheckHeader(const json& h) {
  auto typ = h.find("typ");
  if (typ != h.end()) {
    if (!typ->is_string() || (typ->get<std::string>() != "JWT" && typ->get<std::string>() != "JOSE")) {
      return Invalid(absl::StrCat("typ header must be JWT or JOSE, got ", typ->dump()));
    }
  }
  if (h.contains("crit")) return Invalid("crit header is not supported");
  return absl::OkStatus();
}

// The signer a JwtSigner names: its Signer, or a LocalSigner over its private key (held in `local`).
absl::StatusOr<const crypto::Signer*> SignerOf(const JwtSigner& s, std::shared_ptr<crypto::Signer>& local) {
  auto made = crypto::SignerOrLocal(s.signer, s.key, local);
  if (!made.ok()) return absl::InvalidArgumentError(absl::StrCat("JWT-SVID sign: ", made.status().message()));
  return made;
}

}  // namespace

absl::StatusOr<std::string> SignJwtSvid(const JwtSigner& s, const SpiffeId& sub,
                                        const std::vector<std::string>& audience, absl::Time iat, absl::Time exp,
                                        std::string_view extra_claims_json) {
  if (s.key == nullptr && s.signer == nullptr) return absl::InvalidArgumentError("JWT-SVID sign: key is null");
  if (s.kid.empty()) return absl::InvalidArgumentError("JWT-SVID sign: kid is empty");
  if (sub.empty()) return absl::InvalidArgumentError("JWT-SVID sign: subject is empty");
  if (audience.empty()) return absl::InvalidArgumentError("JWT-SVID sign: at least one audience is required");
  for (const auto& a : audience) {
    if (a.empty()) return absl::InvalidArgumentError("JWT-SVID sign: audience values must not be empty");
  }
  if (exp <= iat) return absl::InvalidArgumentError("JWT-SVID sign: exp must be after iat");
  std::shared_ptr<crypto::Signer> local;
  ASSIGN_OR_RETURN(const crypto::Signer* signer, SignerOf(s, local));
  std::string alg;
  const EVP_MD* md = EVP_sha256();
  switch (signer->Type()) {
    case crypto::KeyType::kEcP256:
      alg = "ES256";
      break;
    case crypto::KeyType::kEcP384:
      alg = "ES384";
      md = EVP_sha384();
      break;
    case crypto::KeyType::kRsa2048:
    case crypto::KeyType::kRsa4096:
      alg = "RS256";
      break;
  }
  try {
    json header = {{"alg", alg}, {"kid", s.kid}, {"typ", "JWT"}};
    json claims = {{"sub", sub.ToString()}, {"exp", absl::ToUnixSeconds(exp)}, {"iat", absl::ToUnixSeconds(iat)}};
    if (!s.issuer.empty()) claims["iss"] = s.issuer;
    if (audience.size() == 1) {
      claims["aud"] = audience[0];
    } else {
      claims["aud"] = audience;
    }
    if (!extra_claims_json.empty()) {
      json extra = json::parse(extra_claims_json.begin(), extra_claims_json.end(), nullptr, false);
      if (!extra.is_object()) return absl::InvalidArgumentError("JWT-SVID sign: extra claims are not a JSON object");
      for (auto& [k, v] : extra.items()) {
        if (claims.contains(k) || k == "iss") {
          return absl::InvalidArgumentError(absl::StrCat("JWT-SVID sign: extra claim \"", k, "\" is a registered one"));
        }
        claims[k] = v;
      }
    }
    std::string input = absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
    ASSIGN_OR_RETURN(auto sig, crypto::SignData(*signer, md, input));
    std::string raw = std::move(sig);
    if (alg[0] == 'E') {
      ASSIGN_OR_RETURN(auto jose, DerToJoseEcdsa(raw, EcCoordSize(EVP_PKEY_get_bits(signer->PublicKey()))));
      raw = std::move(jose);
    }
    return absl::StrCat(input, ".", Base64UrlEncode(raw));
  } catch (const json::exception& e) {
    return absl::InternalError(absl::StrCat("JWT-SVID sign: JSON: ", e.what()));
  }
}

namespace {

// The header's alg (never "none", only RS/ES/PS 256/384/512) after the header's other checks.
absl::StatusOr<AlgInfo> HeaderAlg(const json& h) {
  auto alg_it = h.find("alg");
  if (alg_it == h.end() || !alg_it->is_string()) return Invalid("header has no alg");
  std::string alg_name = alg_it->get<std::string>();
  if (alg_name == "none" || alg_name == "None" || alg_name == "NONE") return Invalid("alg none is not allowed");
  std::optional<AlgInfo> alg = LookupAlg(alg_name);
  if (!alg.has_value()) {
    return Invalid(absl::StrCat("unsupported alg \"", alg_name, "\" (allowed: RS/ES/PS 256/384/512)"));
  }
  RETURN_IF_ERROR(CheckHeader(h));
  return *alg;
}

// The authority named by the header's kid.
absl::StatusOr<const JwtKey*> FindKey(const json& h, const std::vector<JwtKey>& keys) {
  auto kid_it = h.find("kid");
  if (kid_it == h.end() || !kid_it->is_string() || kid_it->get<std::string>().empty()) {
    return Invalid("header has no kid");
  }
  std::string kid = kid_it->get<std::string>();
  for (const auto& k : keys) {
    if (k.kid == kid && k.key) return &k;
  }
  return Invalid(absl::StrCat("unknown kid \"", kid, "\" (no such JWT authority)"));
}

absl::Status VerifyJws(const Parts& parts, const JwtKey& key, const AlgInfo& alg) {
  RETURN_IF_ERROR(CheckKeyMatchesAlg(key.key.get(), alg));
  std::string sig = parts.signature;
  if (alg.family == AlgInfo::kEs) {
    ASSIGN_OR_RETURN(sig, JoseEcdsaToDer(sig, EcCoordSize(alg.ec_bits)));
  }
  if (!crypto::VerifySignature(key.key.get(), alg.md, parts.signing_input, sig, alg.family == AlgInfo::kPs).ok()) {
    return Invalid("signature does not verify");
  }
  return absl::OkStatus();
}

// exp in the future, nbf (if present) not, and `audience` among the token's.
absl::Status CheckTimesAndAudience(const Parts& parts, const JwtSvidClaims& claims, std::string_view audience,
                                   absl::Time now) {
  if (claims.expiry <= now) {
    return Invalid(
        absl::StrCat("token has expired (exp ", absl::FormatTime(claims.expiry), ", now ", absl::FormatTime(now), ")"));
  }
  if (parts.claims.contains("nbf")) {
    ASSIGN_OR_RETURN(absl::Time nbf, NumericDate(parts.claims, "nbf"));
    if (nbf > now) return Invalid("token is not valid yet (nbf in the future)");
  }
  for (const auto& a : claims.audience) {
    if (a == audience) return absl::OkStatus();
  }
  return Invalid(absl::StrCat("audience mismatch: expected \"", ToAbsl(audience), "\", token has [",
                              absl::StrJoin(claims.audience, ", "), "]"));
}

}  // namespace

absl::StatusOr<JwtSvidClaims> ValidateJwtSvid(std::string_view token, const std::vector<JwtKey>& keys,
                                              std::string_view audience, absl::Time now) {
  if (audience.empty()) return Invalid("an audience to validate against is required");
  try {
    ASSIGN_OR_RETURN(Parts parts, Split(token));
    ASSIGN_OR_RETURN(AlgInfo alg, HeaderAlg(parts.header));
    ASSIGN_OR_RETURN(const JwtKey* key, FindKey(parts.header, keys));
    RETURN_IF_ERROR(VerifyJws(parts, *key, alg));
    ASSIGN_OR_RETURN(JwtSvidClaims claims, ExtractClaims(parts));
    RETURN_IF_ERROR(CheckTimesAndAudience(parts, claims, audience, now));
    return claims;
  } catch (const json::exception& e) {
    return Invalid(absl::StrCat("malformed JSON: ", e.what()));
  }
}

std::string NewJwtKeyId(Random& rnd) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";  // 62 symbols
  std::string out;
  while (out.size() < 32) {
    uint8_t b = static_cast<uint8_t>(rnd.Bytes(1)[0]);
    if (b >= 248) continue;  // 248 = 4 * 62: rejection keeps the choice uniform
    out.push_back(kAlphabet[b % 62]);
  }
  return out;
}

absl::StatusOr<JwtSvidClaims> ParseJwtSvidInsecure(std::string_view token) {
  try {
    ASSIGN_OR_RETURN(auto parts, Split(token));
    auto alg_it = parts.header.find("alg");
    if (alg_it == parts.header.end() || !alg_it->is_string()) return Invalid("header has no alg");
    return ExtractClaims(parts);
  } catch (const json::exception& e) {
    return Invalid(absl::StrCat("malformed JSON: ", e.what()));
  }
}

}  // namespace spirecvm::spiffe
