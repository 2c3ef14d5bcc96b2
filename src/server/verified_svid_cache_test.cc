#include "server/verified_svid_cache.h"

#include "gtest/gtest.h"

namespace spirecvm::server {
namespace {

VerifiedSvid Svid(std::string id, int64_t from, int64_t until) { return {std::move(id), "7", from, until}; }

TEST(VerifiedSvidCacheTest, AnswersOnlyInsideTheValidityOfTheVerifiedPath) {
  VerifiedSvidCache cache;
  EXPECT_FALSE(cache.Find("chain-a", absl::FromUnixSeconds(150)).has_value()) << "nothing verified yet";
  cache.Put("chain-a", Svid("spiffe://example.org/spire/agent/a", 100, 200));
  EXPECT_FALSE(cache.Find("chain-a", absl::FromUnixSeconds(99)).has_value()) << "not yet valid";
  auto hit = cache.Find("chain-a", absl::FromUnixSeconds(100));
  ASSERT_TRUE(hit.has_value()) << "notBefore is inclusive";
  EXPECT_EQ(hit->spiffe_id, "spiffe://example.org/spire/agent/a");
  EXPECT_EQ(hit->serial, "7");
  EXPECT_TRUE(cache.Find("chain-a", absl::FromUnixSeconds(199) + absl::Milliseconds(999)).has_value());
  EXPECT_FALSE(cache.Find("chain-a", absl::FromUnixSeconds(200)).has_value()) << "notAfter is exclusive";
  EXPECT_FALSE(cache.Find("chain-b", absl::FromUnixSeconds(150)).has_value()) << "another chain";
  EXPECT_FALSE(cache.Find("chain-a\n", absl::FromUnixSeconds(150)).has_value()) << "keyed by the exact bytes";
}

TEST(VerifiedSvidCacheTest, StartsOverWhenFull) {
  VerifiedSvidCache cache(2);
  cache.Put("a", Svid("spiffe://example.org/spire/agent/a", 0, 10));
  cache.Put("b", Svid("spiffe://example.org/spire/agent/b", 0, 10));
  EXPECT_EQ(cache.size(), 2u);
  cache.Put("c", Svid("spiffe://example.org/spire/agent/c", 0, 10));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.Find("a", absl::FromUnixSeconds(5)).has_value());
  EXPECT_TRUE(cache.Find("c", absl::FromUnixSeconds(5)).has_value());
}

}  // namespace
}  // namespace spirecvm::server
