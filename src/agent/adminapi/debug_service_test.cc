// Debug/GetInfo: the verified agent chain (leaf to root), counts, last sync, and SPIRE's 5 s answer cache.
#include "agent/adminapi/debug_service.h"

#include <gtest/gtest.h>

#include <atomic>

#include "agent/testing/test_ca.h"
#include "crypto/x509.h"

namespace spirecvm::agent::adminapi {
namespace {

using agent::testing::TestCa;

constexpr char kAgentId[] = "spiffe://example.org/spire/agent/join_token/abc";

TEST(AgentDebugServiceTest, GetInfoDescribesTheVerifiedChainAndCounts) {
  const absl::Time t0 = absl::FromUnixSeconds(1800000000);
  FakeClock clock(t0);
  TestCa ca = TestCa::Make(t0);
  auto key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  std::string leaf = ca.Sign(kAgentId, key.get(), t0 - absl::Minutes(1), t0 + absl::Hours(1));
  std::atomic<size_t> x509{3};
  DebugSource src{[&] { return std::vector<std::string>{leaf}; }, [&] { return std::optional(ca.Bundle()); },
                  [&] { return t0 - absl::Seconds(2); }, [&] { return x509.load(); }, [] { return size_t{2}; }};
  DebugService svc(std::move(src), clock);
  clock.Advance(absl::Seconds(7));

  debugv1::GetInfoResponse r;
  ASSERT_TRUE(svc.GetInfo(nullptr, nullptr, &r).ok());
  ASSERT_EQ(r.svid_chain_size(), 2);
  EXPECT_EQ(r.svid_chain(0).id().trust_domain(), "example.org");
  EXPECT_EQ(r.svid_chain(0).id().path(), "/spire/agent/join_token/abc");
  EXPECT_EQ(r.svid_chain(0).expires_at(), absl::ToUnixSeconds(t0 + absl::Hours(1)));
  EXPECT_EQ(r.svid_chain(1).id().trust_domain(), "example.org");  // the root's URI SAN
  EXPECT_EQ(r.svid_chain(1).id().path(), "");
  EXPECT_EQ(r.svid_chain(1).expires_at(), absl::ToUnixSeconds(crypto::NotAfter(ca.cert.get())));
  EXPECT_EQ(r.uptime(), 7);
  EXPECT_EQ(r.cached_x509_svids_count(), 3);
  EXPECT_EQ(r.cached_jwt_svids_count(), 2);
  EXPECT_EQ(r.last_sync_success(), absl::ToUnixSeconds(t0) - 2);

  x509 = 9;
  clock.Advance(absl::Seconds(4));  // within SPIRE's 5 s cache: the same answer
  ASSERT_TRUE(svc.GetInfo(nullptr, nullptr, &r).ok());
  EXPECT_EQ(r.cached_x509_svids_count(), 3);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(svc.GetInfo(nullptr, nullptr, &r).ok());
  EXPECT_EQ(r.cached_x509_svids_count(), 9);
  EXPECT_EQ(r.uptime(), 12);
}

TEST(AgentDebugServiceTest, ChainThatDoesNotVerifyIsInternal) {
  const absl::Time t0 = absl::FromUnixSeconds(1800000000);
  TestCa ca = TestCa::Make(t0);
  TestCa other = TestCa::Make(t0);
  auto key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  std::string leaf = other.Sign(kAgentId, key.get(), t0 - absl::Minutes(1), t0 + absl::Hours(1));
  auto r = DescribeAgentChain({leaf}, ca.Bundle(), t0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("failed to verify agent SVID"), std::string::npos);
  EXPECT_EQ(DescribeAgentChain({}, ca.Bundle(), t0).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spirecvm::agent::adminapi
