// SPIRE's per-IP rate limits on the agent API (server `ratelimit { attestation, signing }`): a token bucket per
// source address; a call takes `count` tokens and waits for them (SPIRE waits too) instead of failing, up to a bound.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm::server {

// Thread-safe.
class PerIpRateLimiter {
 public:
  // `per_second` tokens are added per second, up to `per_second` (SPIRE's burst equals its limit).
  explicit PerIpRateLimiter(int per_second) : rate_(per_second) {}

  // Reserves `count` tokens for `ip` and returns how long the call must wait for them (zero: go now).
  // ResourceExhausted when count exceeds the burst, or when the wait would exceed max_wait (then nothing is reserved).
  absl::StatusOr<absl::Duration> Reserve(std::string_view ip, int count, absl::Time now, absl::Duration max_wait);

  int rate() const { return rate_; }

 private:
  struct Bucket {
    double tokens;
    absl::Time last;
  };
  const int rate_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_;
};

// The address of a gRPC peer ("ipv4:10.0.0.1:4242" -> "10.0.0.1", "ipv6:[::1]:4242" -> "::1"); "" for anything else
// (Unix sockets are not limited, as in SPIRE).
std::string PeerIp(std::string_view grpc_peer);

// What the agent API limits, from the server configuration.
struct AgentApiLimits {
  // SPIRE `ratelimit.attestation`: AttestAgent, 1 per second per IP; null: off.
  std::unique_ptr<PerIpRateLimiter> attestation;
  // SPIRE `ratelimit.signing`: BatchNewX509SVID (per CSR), NewJWTSVID, NewDownstreamX509CA and RenewAgent, 500 per
  // second per IP; null: off.
  std::unique_ptr<PerIpRateLimiter> signing;
  // Each step of an attestation (the params, every challenge answer, every write) must complete within this, or the
  // stream is cancelled; waiting for a rate-limit token is bounded by it too.
  absl::Duration step_timeout = absl::Seconds(30);
  // Attestations past their first message at once (each holds a thread while the attestor runs); beyond,
  // RESOURCE_EXHAUSTED.
  int max_concurrent_attestations = 64;
};

// SPIRE's signing limit for a call from `peer` taking `count` tokens: reserves them and returns how long the call
// must wait before it goes on (zero when `limits` or its signing limiter is null, or the peer has no IP); the caller
// waits on a timer (api/spire_agent/unary_call.h), not a thread. ResourceExhausted ("rejecting request due to <what>
// rate limiting: ...") when the wait would exceed limits.step_timeout.
absl::StatusOr<absl::Duration> ReserveSigningTokens(const AgentApiLimits* limits, std::string_view peer, int count,
                                                    absl::Time now, std::string_view what);

}  // namespace spirecvm::server
