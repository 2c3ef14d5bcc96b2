// Key generation, (de)serialization and small digest helpers over OpenSSL 3.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::crypto {

enum class KeyType { kEcP256, kEcP384, kRsa2048, kRsa4096 };

// SPIRE names: "ec-p256", "ec-p384", "rsa-2048", "rsa-4096".
absl::StatusOr<KeyType> ParseKeyType(std::string_view s);
std::string_view KeyTypeName(KeyType t);
// The type of an existing key (EC P-256/P-384 or RSA 2048/4096); error for anything else.
absl::StatusOr<KeyType> KeyTypeOf(const EVP_PKEY* key);

absl::StatusOr<ssl::EvpPkeyPtr> GenerateKey(KeyType t);

absl::StatusOr<std::string> PrivateKeyToPkcs8Der(const EVP_PKEY* key);
absl::StatusOr<std::string> PrivateKeyToPem(const EVP_PKEY* key);         // PKCS#8 PEM
absl::StatusOr<ssl::EvpPkeyPtr> PrivateKeyFromDer(std::string_view der);  // PKCS#8 (and traditional)
absl::StatusOr<ssl::EvpPkeyPtr> PrivateKeyFromPem(std::string_view pem);
absl::StatusOr<std::string> PublicKeyToDer(const EVP_PKEY* key);  // SubjectPublicKeyInfo DER
absl::StatusOr<ssl::EvpPkeyPtr> PublicKeyFromDer(std::string_view der);
// Returns a new reference to `key` (EVP_PKEY_up_ref) owned by the result.
ssl::EvpPkeyPtr ShareKey(EVP_PKEY* key);

// Constant time in the contents (length difference returns false immediately).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Raw digests.
std::string Sha256(std::string_view data);
std::string Sha384(std::string_view data);
std::string Sha512(std::string_view data);

// Signs `data` with `key` (EC: DER ECDSA signature; RSA: PKCS#1 v1.5) using digest `md`.
absl::StatusOr<std::string> SignDigestInfo(EVP_PKEY* key, const EVP_MD* md, std::string_view data);
// Verifies a signature as produced by SignDigestInfo (or RSA-PSS when `pss` is true).
absl::Status VerifySignature(EVP_PKEY* key, const EVP_MD* md, std::string_view data, std::string_view sig,
                             bool pss = false);

}  // namespace spirecvm::crypto
