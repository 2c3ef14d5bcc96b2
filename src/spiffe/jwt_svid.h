// JWT-SVIDs: JWS compact tokens signed by the server's JWT authority.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/random.h"
#include "crypto/signer.h"
#include "crypto/ssl_ptr.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::spiffe {

// The JWT authority: a local private key, or a crypto::Signer (the server's JWT key, from a KeyManager), which wins.
struct JwtSigner {
  EVP_PKEY* key = nullptr;  // non-owning
  std::string kid{};
  std::string issuer{};                    // optional `iss` claim (the server's jwt_issuer)
  const crypto::Signer* signer = nullptr;  // non-owning
};

// alg from key: ES256 (P-256), ES384 (P-384), RS256 (RSA); ECDSA signatures in JOSE raw R||S;
// header {"alg","kid","typ":"JWT"}; claims sub, aud (string if one, array if several — like SPIRE), exp, iat.
// extra_claims_json: empty, or a JSON object whose members are added (e.g. the node facts' `cvm` claim); a member
// named like a registered claim (sub, aud, exp, iat, iss) is refused.
absl::StatusOr<std::string> SignJwtSvid(const JwtSigner& s, const SpiffeId& sub,
                                        const std::vector<std::string>& audience, absl::Time iat, absl::Time exp,
                                        std::string_view extra_claims_json = {});

struct JwtKey {
  std::string kid{};
  ssl::EvpPkeyPtr key{};
};

struct JwtSvidClaims {
  SpiffeId sub{};
  std::vector<std::string> audience{};
  absl::Time expiry{};
  std::string claims_json{};  // the decoded payload, verbatim
};

// Rejects: malformed, alg none or any alg not RS/ES/PS 256/384/512, alg not matching the key type,
// unknown kid, bad signature, expired (exp <= now), missing exp/aud/sub, audience not containing
// `audience`, typ other than JWT/JOSE, sub not a SPIFFE ID.
absl::StatusOr<JwtSvidClaims> ValidateJwtSvid(std::string_view token, const std::vector<JwtKey>& keys,
                                              std::string_view audience, absl::Time now);
// A fresh JWT authority key ID like SPIRE's: 32 random characters from [A-Za-z0-9].
std::string NewJwtKeyId(Random& rnd);

// No signature, expiry or audience check; still requires well-formed sub/aud/exp.
absl::StatusOr<JwtSvidClaims> ParseJwtSvidInsecure(std::string_view token);

}  // namespace spirecvm::spiffe
