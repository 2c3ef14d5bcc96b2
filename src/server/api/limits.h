// Limits on what a peer may send the agent API (an unauthenticated one during attestation).
#pragma once

#include <cstddef>

namespace spirecvm::server {

inline constexpr size_t kMaxAttestationPayload = 64 * 1024;
inline constexpr size_t kMaxChallengeResponse = 64 * 1024;
inline constexpr size_t kMaxCsr = 16 * 1024;
inline constexpr int kMaxBatchCsrs = 500;

}  // namespace spirecvm::server
