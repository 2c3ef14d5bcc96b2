// The EC_KEY and ECDSA_verify API is deprecated in OpenSSL 3 (ecdsa_verify.h says why it is used here); this file
// is the only user. A pragma, not OPENSSL_SUPPRESS_DEPRECATED: the precompiled header has included OpenSSL already.
#include "crypto/ecdsa_verify.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "crypto/ssl_ptr.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace spirecvm::crypto {
namespace {

// One group per curve, built once and only read afterwards (EC_KEY_set_group copies it), so shared by all threads.
const EC_GROUP* Group(EcCurve curve) {
  static const EC_GROUP* p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  static const EC_GROUP* p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
  return curve == EcCurve::kP256 ? p256 : p384;
}

// The only EC_KEY owner in the tree: kept here, not in ssl_ptr.h, so the deprecated declarations stay in this file.
struct EcKeyFree {
  void operator()(EC_KEY* k) const { EC_KEY_free(k); }
};

}  // namespace

absl::Status VerifyEcdsa(EcCurve curve, std::string_view point, const EVP_MD* md, std::string_view data,
                         std::string_view sig_der) {
  const EC_GROUP* group = Group(curve);
  if (group == nullptr || md == nullptr) return absl::InternalError("ECDSA verify: curve or digest unavailable");
  std::unique_ptr<EC_KEY, EcKeyFree> key(EC_KEY_new());
  if (!key || EC_KEY_set_group(key.get(), group) != 1) return absl::InternalError("ECDSA verify: key allocation");
  if (EC_KEY_oct2key(key.get(), reinterpret_cast<const unsigned char*>(point.data()), point.size(), nullptr) != 1) {
    std::string errs = ssl::DrainErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("public key: not a point on the curve", errs.empty() ? "" : ": ", errs));
  }
  // The point at infinity decodes, but it is nobody's key, and any signature "verifies" against it that an attacker
  // builds for it: refused.
  if (EC_POINT_is_at_infinity(group, EC_KEY_get0_public_key(key.get())) == 1) {
    return absl::InvalidArgumentError("public key: the point at infinity");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_len, md, nullptr) != 1) {
    ssl::DrainErrors();
    return absl::InternalError("ECDSA verify: digest");
  }
  if (ECDSA_verify(0, digest, static_cast<int>(digest_len), reinterpret_cast<const unsigned char*>(sig_der.data()),
                   static_cast<int>(sig_der.size()), key.get()) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("signature does not verify");
  }
  return absl::OkStatus();
}

}  // namespace spirecvm::crypto
