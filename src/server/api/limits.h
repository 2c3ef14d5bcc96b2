// Limits on what a peer may send the agent API (an unauthenticated one during attestation).
#pragma once

#include <cstddef>

namespace spirecvm::server {

inline constexpr size_t kMaxAttestationPayload = 64 * 1024;
inline constexpr size_t kMaxChallengeResponse = 64 * 1024;
inline constexpr size_t kMaxCsr = 16 * 1024;
inline constexpr int kMaxBatchCsrs = 500;
// A JWT authority a downstream server publishes: PKIX public key DER and key ID.
inline constexpr size_t kMaxJwtAuthorityKey = 16 * 1024;
inline constexpr size_t kMaxJwtAuthorityKeyId = 1024;

}  // namespace spirecvm::server
