#include "server/api/rate_limiter.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/strings.h"

namespace spirecvm::server {

absl::StatusOr<absl::Duration> PerIpRateLimiter::Reserve(std::string_view ip, int count, absl::Time now,
                                                         absl::Duration max_wait) {
  if (count > rate_) {
    return absl::ResourceExhaustedError(absl::StrCat("rate (", count, ") exceeds burst size (", rate_, ")"));
  }
  std::lock_guard<std::mutex> l(mu_);
  if (buckets_.size() > 100000) {
    // Bounded: forget buckets that have refilled (they hold no reservation).
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const Bucket& b = it->second;
      if (b.tokens + absl::ToDoubleSeconds(now - b.last) * rate_ >= rate_) {
        buckets_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  auto [it, inserted] = buckets_.try_emplace(std::string(ip), Bucket{static_cast<double>(rate_), now});
  Bucket& b = it->second;
  const double refill = now > b.last ? absl::ToDoubleSeconds(now - b.last) * rate_ : 0;
  const double tokens = std::min<double>(rate_, b.tokens + refill) - count;
  const absl::Duration wait = tokens >= 0 ? absl::ZeroDuration() : absl::Seconds(-tokens / rate_);
  if (wait > max_wait) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rate limit of ", rate_, " per second for ", ToAbsl(ip), " reached"));
  }
  b.tokens = tokens;
  b.last = std::max(now, b.last);
  return wait;
}

std::string PeerIp(std::string_view peer) {
  absl::string_view p = ToAbsl(peer);
  if (absl::ConsumePrefix(&p, "ipv4:")) {
    auto colon = p.rfind(':');
    return std::string(colon == absl::string_view::npos ? p : p.substr(0, colon));
  }
  if (absl::ConsumePrefix(&p, "ipv6:")) {
    // gRPC writes "ipv6:[::1]:port", newer versions URI-escape the brackets: "ipv6:%5B::1%5D:port".
    for (auto [open, close] : {std::pair{"[", "]"}, std::pair{"%5B", "%5D"}}) {
      if (absl::ConsumePrefix(&p, open)) {
        auto end = p.find(close);
        return std::string(end == absl::string_view::npos ? p : p.substr(0, end));
      }
    }
    return std::string(p);
  }
  return "";
}

absl::StatusOr<absl::Duration> ReserveSigningTokens(const AgentApiLimits* limits, std::string_view peer, int count,
                                                    absl::Time now, std::string_view what) {
  if (limits == nullptr || limits->signing == nullptr) return absl::ZeroDuration();
  const std::string ip = PeerIp(peer);
  if (ip.empty()) return absl::ZeroDuration();
  auto wait = limits->signing->Reserve(ip, count, now, limits->step_timeout);
  if (!wait.ok()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rejecting request due to ", ToAbsl(what), " rate limiting: ", wait.status().message()));
  }
  return *wait;
}

}  // namespace spirecvm::server
