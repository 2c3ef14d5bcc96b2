#include "crypto/keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace spirecvm::crypto {
namespace {

absl::Status SslError(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InternalError(ToAbsl(what));
  return absl::InternalError(absl::StrCat(ToAbsl(what), ": ", errs));
}

absl::Status SslInvalid(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InvalidArgumentError(ToAbsl(what));
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": ", errs));
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(n));
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) std::abort();
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

absl::StatusOr<KeyType> ParseKeyType(std::string_view s) {
  if (s == "ec-p256") return KeyType::kEcP256;
  if (s == "ec-p384") return KeyType::kEcP384;
  if (s == "rsa-2048") return KeyType::kRsa2048;
  if (s == "rsa-4096") return KeyType::kRsa4096;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown key type \"", ToAbsl(s), "\": expected one of ec-p256, ec-p384, rsa-2048, rsa-4096"));
}

std::string_view KeyTypeName(KeyType t) {
  switch (t) {
    case KeyType::kEcP256:
      return "ec-p256";
    case KeyType::kEcP384:
      return "ec-p384";
    case KeyType::kRsa2048:
      return "rsa-2048";
    case KeyType::kRsa4096:
      return "rsa-4096";
  }
  return "unknown";
}

absl::StatusOr<KeyType> KeyTypeOf(const EVP_PKEY* key) {
  if (key == nullptr) return absl::InvalidArgumentError("key type: key is null");
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1) {
      return SslInvalid("key type: EC key without a named curve");
    }
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256") return KeyType::kEcP256;
    if (g == "secp384r1" || g == "P-384") return KeyType::kEcP384;
    return absl::InvalidArgumentError(absl::StrCat("key type: unsupported EC curve ", ToAbsl(g)));
  }
  if (id == EVP_PKEY_RSA) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits == 2048) return KeyType::kRsa2048;
    if (bits == 4096) return KeyType::kRsa4096;
    return absl::InvalidArgumentError(absl::StrCat("key type: unsupported RSA size ", bits));
  }
  return absl::InvalidArgumentError(absl::StrCat("key type: unsupported key algorithm ", id));
}

absl::StatusOr<ssl::EvpPkeyPtr> GenerateKey(KeyType t) {
  EVP_PKEY* raw = nullptr;
  switch (t) {
    case KeyType::kEcP256:
      raw = EVP_EC_gen("P-256");
      break;
    case KeyType::kEcP384:
      raw = EVP_EC_gen("P-384");
      break;
    case KeyType::kRsa2048:
      raw = EVP_RSA_gen(2048);
      break;
    case KeyType::kRsa4096:
      raw = EVP_RSA_gen(4096);
      break;
  }
  if (raw == nullptr) return SslError(absl::StrCat("generate ", ToAbsl(KeyTypeName(t)), " key"));
  return ssl::EvpPkeyPtr(raw);
}

absl::StatusOr<std::string> PrivateKeyToPkcs8Der(const EVP_PKEY* key) {
  if (key == nullptr) return absl::InvalidArgumentError("PKCS#8 encode: key is null");
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      i2d_PKCS8PrivateKey_bio(bio.get(), const_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("PKCS#8 encode private key");
  }
  return BioToString(bio.get());
}

absl::StatusOr<std::string> PrivateKeyToPem(const EVP_PKEY* key) {
  if (key == nullptr) return absl::InvalidArgumentError("PKCS#8 PEM encode: key is null");
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), const_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
    return SslError("PKCS#8 PEM encode private key");
  }
  return BioToString(bio.get());
}

absl::StatusOr<ssl::EvpPkeyPtr> PrivateKeyFromDer(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("private key DER: empty input");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  // d2i_AutoPrivateKey handles PKCS#8 and the traditional (SEC1 / PKCS#1) forms.
  ssl::EvpPkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return SslInvalid("private key DER: not a PKCS#8 or traditional private key");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("private key DER: trailing bytes after the key");
  }
  ERR_clear_error();
  return key;
}

absl::StatusOr<ssl::EvpPkeyPtr> PrivateKeyFromPem(std::string_view pem) {
  ssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return SslError("private key PEM: BIO");
  ssl::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return SslInvalid("private key PEM: no parsable private key");
  ERR_clear_error();
  return key;
}

absl::StatusOr<std::string> PublicKeyToDer(const EVP_PKEY* key) {
  if (key == nullptr) return absl::InvalidArgumentError("SubjectPublicKeyInfo encode: key is null");
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(const_cast<EVP_PKEY*>(key), &out);
  if (len <= 0) return SslError("SubjectPublicKeyInfo encode");
  ssl::OpensslBytesPtr owned(out);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len));
}

absl::StatusOr<ssl::EvpPkeyPtr> PublicKeyFromDer(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("SubjectPublicKeyInfo DER: empty input");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return SslInvalid("SubjectPublicKeyInfo DER: not parsable");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("SubjectPublicKeyInfo DER: trailing bytes after the key");
  }
  return key;
}

ssl::EvpPkeyPtr ShareKey(EVP_PKEY* key) {
  if (key == nullptr) return nullptr;
  EVP_PKEY_up_ref(key);
  return ssl::EvpPkeyPtr(key);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sha256(std::string_view data) { return Digest(EVP_sha256(), data); }
std::string Sha384(std::string_view data) { return Digest(EVP_sha384(), data); }
std::string Sha512(std::string_view data) { return Digest(EVP_sha512(), data); }

absl::StatusOr<std::string> SignDigestInfo(EVP_PKEY* key, const EVP_MD* md, std::string_view data) {
  if (key == nullptr) return absl::InvalidArgumentError("sign: key is null");
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1) return SslError("sign: init");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) return SslError("sign: size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1) {
    return SslError("sign");
  }
  sig.resize(len);
  return sig;
}

absl::Status VerifySignature(EVP_PKEY* key, const EVP_MD* md, std::string_view data, std::string_view sig, bool pss) {
  if (key == nullptr) return absl::InvalidArgumentError("verify: key is null");
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return SslError("verify: init");
  }
  if (pss) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return SslInvalid("verify: RSA-PSS requires an RSA key");
    }
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
  if (rc != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("signature does not verify");
  }
  return absl::OkStatus();
}

}  // namespace spirecvm::crypto
