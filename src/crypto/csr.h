// PKCS#10 certificate signing requests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::crypto {

// The request's key is kept as its SubjectPublicKeyInfo DER, which is what a certificate carries; a caller that needs
// an EVP_PKEY decodes it with PublicKeyFromDer (OpenSSL 3's key import costs more than the signature check).
struct ParsedCsr {
  std::string spki_der{};  // SubjectPublicKeyInfo DER of the request's key, in its one DER encoding
  KeyType key_type = KeyType::kEcP256;
  std::vector<std::string> uri_sans{};  // from the extensionRequest attribute
  bool requests_ca = false;             // the extensionRequest asks for basicConstraints CA:TRUE
};

// Rejects anything malformed (including trailing bytes) and any CSR whose self-signature does not
// verify ("CSR signature does not verify").
absl::StatusOr<ParsedCsr> ParseAndVerifyCsr(std::string_view der);

// DER CSR signed by `key` (SHA-256, or SHA-384 for P-384), with an optional URI SAN and any DNS SANs.
absl::StatusOr<std::string> CreateCsr(EVP_PKEY* key, std::optional<std::string> uri_san,
                                      const std::vector<std::string>& dns_sans = {});

}  // namespace spirecvm::crypto
