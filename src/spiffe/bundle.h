// SPIFFE trust bundles and their JWKS (SPIFFE bundle format) and PEM forms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spiffe/jwt_svid.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::spiffe {

struct JwtAuthority {
  std::string kid{};
  std::string public_key_der{};                  // SubjectPublicKeyInfo DER
  absl::Time expires_at = absl::InfinitePast();  // InfinitePast = unknown (not carried in JWKS)
};

struct Bundle {
  TrustDomain trust_domain{};
  std::vector<std::string> x509_authorities_der{};
  std::vector<JwtAuthority> jwt_authorities{};
  uint64_t sequence_number = 0;
  int64_t refresh_hint_seconds = 0;
};

// SPIFFE bundle format: keys[] with use "x509-svid" + x5c (one cert, base64 std) and use "jwt-svid" + kid;
// spiffe_sequence (always), spiffe_refresh_hint (omitted when 0). EC keys as kty EC crv/x/y, RSA as n/e;
// x509-svid entries carry the certificate key parameters too, as SPIRE does. Entries whose DER does not
// parse are left out (they cannot be expressed).
std::string BundleToJwks(const Bundle& b);
// Parses a SPIFFE bundle; unknown "use" values are skipped (as the spec requires), malformed keys are errors.
absl::StatusOr<Bundle> BundleFromJwks(const TrustDomain& td, std::string_view json);
// X.509 authorities only, concatenated PEM.
std::string BundleToPem(const Bundle& b);
absl::StatusOr<std::vector<JwtKey>> JwtKeysFromBundle(const Bundle& b);

// JWK <-> key helpers (public keys only).
absl::StatusOr<std::string> PublicKeyToJwkJson(const EVP_PKEY* key, std::string_view kid, std::string_view use);
absl::StatusOr<ssl::EvpPkeyPtr> PublicKeyFromJwkJson(std::string_view jwk_json);

}  // namespace spirecvm::spiffe
