#include "server/api/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "server/api/step_watchdog.h"

namespace spirecvm::server {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// SPIRE's attestation limit: 1 per second per IP, burst 1; a second call waits for the next second; another IP is
// not affected; a wait longer than the bound is refused and reserves nothing.
TEST(RateLimiterTest, PerIpTokenBucketWaitsAndBounds) {
  PerIpRateLimiter lim(1);
  EXPECT_EQ(*lim.Reserve("10.0.0.1", 1, kT0, absl::Seconds(30)), absl::ZeroDuration());
  EXPECT_EQ(*lim.Reserve("10.0.0.1", 1, kT0, absl::Seconds(30)), absl::Seconds(1));
  EXPECT_EQ(*lim.Reserve("10.0.0.1", 1, kT0, absl::Seconds(30)), absl::Seconds(2));
  EXPECT_EQ(*lim.Reserve("10.0.0.2", 1, kT0, absl::Seconds(30)), absl::ZeroDuration());
  auto refused = lim.Reserve("10.0.0.1", 1, kT0, absl::Milliseconds(500));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("10.0.0.1"));
  // 3 s later the three reservations are paid back and the bucket is full again (burst 1).
  EXPECT_EQ(*lim.Reserve("10.0.0.1", 1, kT0 + absl::Seconds(6), absl::Seconds(30)), absl::ZeroDuration());
}

TEST(RateLimiterTest, SigningBurstAndCountAboveBurst) {
  PerIpRateLimiter lim(500);
  EXPECT_EQ(*lim.Reserve("::1", 500, kT0, absl::Seconds(30)), absl::ZeroDuration());
  EXPECT_EQ(*lim.Reserve("::1", 250, kT0, absl::Seconds(30)), absl::Milliseconds(500));
  auto over = lim.Reserve("::1", 501, kT0, absl::Seconds(30));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.status().message(), HasSubstr("exceeds burst size"));
}

TEST(RateLimiterTest, PeerIp) {
  EXPECT_EQ(PeerIp("ipv4:10.1.2.3:4242"), "10.1.2.3");
  EXPECT_EQ(PeerIp("ipv6:[::1]:4242"), "::1");
  EXPECT_EQ(PeerIp("ipv6:%5B::1%5D:1"), "::1");
  EXPECT_EQ(PeerIp("unix:/tmp/x.sock"), "");
  EXPECT_EQ(PeerIp(""), "");
}

TEST(RateLimiterTest, ReserveSigningTokensOffOrUnixIsImmediate) {
  EXPECT_EQ(*ReserveSigningTokens(nullptr, "ipv4:1.2.3.4:1", 1, kT0, "CSR"), absl::ZeroDuration());
  AgentApiLimits limits;
  limits.signing = std::make_unique<PerIpRateLimiter>(2);
  EXPECT_EQ(*ReserveSigningTokens(&limits, "unix:/x", 100, kT0, "CSR"), absl::ZeroDuration());
  auto st = ReserveSigningTokens(&limits, "ipv4:1.2.3.4:1", 3, kT0, "CSR").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("rejecting request due to CSR rate limiting"));
}

// The burst goes at once; the next call is told how long to wait (it waits on a timer), not refused.
TEST(RateLimiterTest, ReserveSigningTokensReturnsTheWaitPastTheBurst) {
  AgentApiLimits limits;
  limits.signing = std::make_unique<PerIpRateLimiter>(2);
  EXPECT_EQ(*ReserveSigningTokens(&limits, "ipv4:1.2.3.4:1", 2, kT0, "CSR"), absl::ZeroDuration());
  auto wait = ReserveSigningTokens(&limits, "ipv4:1.2.3.4:1", 1, kT0, "CSR");
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_EQ(*wait, absl::Milliseconds(500));
  EXPECT_EQ(*ReserveSigningTokens(&limits, "ipv4:5.6.7.8:1", 1, kT0, "CSR"), absl::ZeroDuration())
      << "each address has its own bucket";
}

// A stalled step is cancelled once its deadline passes; a disarmed one never is.
TEST(StepWatchdogTest, CancelsExpiredStepsOnly) {
  FakeClock clock(kT0);
  StepWatchdog dog(clock, absl::Hours(1));  // the thread stays out of the way: the test drives CancelExpired
  std::atomic<int> a{0}, b{0};
  dog.Arm([&] { ++a; }, kT0 + absl::Seconds(30));
  uint64_t id = dog.Arm([&] { ++b; }, kT0 + absl::Seconds(30));
  EXPECT_EQ(dog.CancelExpired(), 0);
  dog.Disarm(id);
  clock.Advance(absl::Seconds(31));
  EXPECT_EQ(dog.CancelExpired(), 1);
  EXPECT_EQ(a.load(), 1);
  EXPECT_EQ(b.load(), 0);
  EXPECT_EQ(dog.CancelExpired(), 0);  // once
  EXPECT_EQ(dog.armed(), 0u);
}

}  // namespace
}  // namespace spirecvm::server
