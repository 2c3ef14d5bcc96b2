#include "agent/manager/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace spirecvm::agent {
namespace {

spirecvm::types::Entry E(const std::string& id, std::vector<std::pair<std::string, std::string>> sels,
                         int64_t rev = 1) {
  spirecvm::types::Entry e;
  e.set_id(id);
  e.set_spiffe_id("spiffe://example.org/" + id);
  for (auto& [t, v] : sels) {
    auto* s = e.add_selectors();
    s->set_type(t);
    s->set_value(v);
  }
  e.set_revision_number(rev);
  return e;
}

std::shared_ptr<X509SvidRecord> Svid(const std::string& id, absl::Time nb, absl::Duration ttl, int64_t rev = 1) {
  auto r = std::make_shared<X509SvidRecord>();
  r->entry_id = id;
  r->entry_revision = rev;
  r->spiffe_id = "spiffe://example.org/" + id;
  r->chain_der = {"der-" + id};
  r->not_before = nb;
  r->not_after = nb + ttl;
  return r;
}

class CacheTest : public ::testing::Test {
 protected:
  FakeClock clock_{absl::FromUnixSeconds(1750000000)};
};

TEST_F(CacheTest, MatchingNeedsAllEntrySelectors) {
  absl::flat_hash_set<std::string> w = {"unix:uid:1000", "unix:gid:1000"};
  EXPECT_TRUE(EntryMatches(E("a", {{"unix", "uid:1000"}}), w));
  EXPECT_TRUE(EntryMatches(E("a", {{"unix", "uid:1000"}, {"unix", "gid:1000"}}), w));
  EXPECT_FALSE(EntryMatches(E("a", {{"unix", "uid:1000"}, {"unix", "user:bob"}}), w));
  EXPECT_FALSE(EntryMatches(E("a", {}), w));
}

TEST_F(CacheTest, MintsMissingStaleAndChangedRevisions) {
  auto c = Cache::Create(clock_, 10);
  c->ApplySync({E("a", {{"unix", "uid:1"}}), E("b", {{"unix", "uid:1"}})}, {});
  EXPECT_EQ(c->EntriesToMint().size(), 2u);
  c->StoreSvids({Svid("a", clock_.Now(), absl::Hours(1)), Svid("b", clock_.Now(), absl::Hours(1))});
  EXPECT_TRUE(c->EntriesToMint().empty());
  EXPECT_EQ(c->NextRotation(), clock_.Now() + absl::Minutes(30));
  clock_.Advance(absl::Minutes(30));
  EXPECT_EQ(c->EntriesToMint().size(), 2u);
  c->StoreSvids({Svid("a", clock_.Now(), absl::Hours(1)), Svid("b", clock_.Now(), absl::Hours(1))});
  c->ApplySync({E("a", {{"unix", "uid:1"}}, 2)}, {});
  auto todo = c->EntriesToMint();
  ASSERT_EQ(todo.size(), 1u);
  EXPECT_EQ(todo[0].id(), "a");
}

TEST_F(CacheTest, LruPrefersSubscribedAndRecentlyUsed) {
  auto c = Cache::Create(clock_, 2);
  c->ApplySync({E("a", {{"unix", "uid:1"}}), E("b", {{"unix", "uid:2"}}), E("c", {{"unix", "uid:3"}})}, {});
  auto sub = c->Subscribe({"unix:uid:3"}, [](const WorkloadUpdate&) {});
  clock_.Advance(absl::Seconds(1));
  c->Fetch({"unix:uid:2"});
  auto todo = c->EntriesToMint();
  ASSERT_EQ(todo.size(), 2u);
  std::set<std::string> ids = {todo[0].id(), todo[1].id()};
  EXPECT_EQ(ids, (std::set<std::string>{"b", "c"}));
}

TEST_F(CacheTest, SubscribersGetFullStateOnEveryChangeAndOnlyThen) {
  auto c = Cache::Create(clock_, 10);
  c->ApplySync({E("a", {{"unix", "uid:1"}}), E("b", {{"unix", "uid:1"}})}, {});
  std::vector<WorkloadUpdate> got;
  WorkloadUpdate initial;
  auto sub = c->Subscribe(
      {"unix:uid:1"}, [&](const WorkloadUpdate& u) { got.push_back(u); }, &initial);
  EXPECT_TRUE(initial.has_identity);
  EXPECT_FALSE(initial.complete);
  EXPECT_TRUE(got.empty());  // not complete yet
  c->StoreSvids({Svid("a", clock_.Now(), absl::Hours(1))});
  EXPECT_TRUE(got.empty());
  c->StoreSvids({Svid("b", clock_.Now(), absl::Hours(1))});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].svids.size(), 2u);
  c->NotifyAll();  // nothing changed: nothing sent
  EXPECT_EQ(got.size(), 1u);
  c->ApplySync({}, {"b"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].svids.size(), 1u);
  c->ApplySync({}, {"a"});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_FALSE(got[2].has_identity);
  sub->Cancel();
  EXPECT_EQ(c->subscriber_count(), 0u);
}

TEST_F(CacheTest, JwtCachedUntilHalfLife) {
  auto c = Cache::Create(clock_, 10);
  c->ApplySync({E("a", {{"unix", "uid:1"}})}, {});
  JwtRecord r{"tok", "spiffe://example.org/a", "", clock_.Now(), clock_.Now() + absl::Minutes(10)};
  c->PutJwt("a", {"y", "x"}, r);
  ASSERT_TRUE(c->GetJwt("a", {"x", "y"}).has_value());
  EXPECT_FALSE(c->GetJwt("a", {"x"}).has_value());
  clock_.Advance(absl::Minutes(5));
  EXPECT_FALSE(c->GetJwt("a", {"x", "y"}).has_value());
}

// jwt_svid_cache_max_size: the cache never holds more; the token closest to expiry makes room.
TEST_F(CacheTest, JwtCacheIsBoundedBySize) {
  auto c = Cache::Create(clock_, 10, /*max_jwts=*/2);
  c->ApplySync({E("a", {{"unix", "uid:1"}})}, {});
  auto put = [&](const std::string& aud, absl::Duration ttl) {
    c->PutJwt("a", {aud}, JwtRecord{"tok-" + aud, "spiffe://example.org/a", "", clock_.Now(), clock_.Now() + ttl});
  };
  put("short", absl::Minutes(10));
  put("long", absl::Minutes(30));
  put("long", absl::Minutes(30));  // replacing a held key needs no room
  EXPECT_EQ(c->jwt_count(), 2u);
  put("new", absl::Minutes(20));
  EXPECT_EQ(c->jwt_count(), 2u);
  EXPECT_FALSE(c->GetJwt("a", {"short"}).has_value());
  EXPECT_TRUE(c->GetJwt("a", {"long"}).has_value());
  EXPECT_TRUE(c->GetJwt("a", {"new"}).has_value());
}

}  // namespace
}  // namespace spirecvm::agent

namespace spirecvm::agent {
namespace {

// The manager thread syncs, stores SVIDs and bundles while Workload API threads fetch, subscribe, cancel and use
// the JWT cache: a subscriber never sees an older view after a newer one, and a cancelled subscription is not
// called again (this suite also runs under ThreadSanitizer, `make test-tsan`).
TEST_F(CacheTest, ConcurrentManagerAndWorkloads) {
  auto c = Cache::Create(clock_, 50);
  std::atomic<bool> done{false};
  std::vector<std::thread> workloads;
  for (int w = 0; w < 3; ++w) {
    workloads.emplace_back([&, w] {
      const std::string uid = "unix:uid:" + std::to_string(w);
      while (!done.load()) {
        std::atomic<uint64_t> last{0};
        std::atomic<bool> cancelled{false};
        auto sub = c->Subscribe({uid}, [&](const WorkloadUpdate& u) {
          EXPECT_FALSE(cancelled.load()) << "delivery after Cancel returned";
          EXPECT_GE(u.version, last.load()) << "older view after a newer one";
          last = u.version;
        });
        (void)c->Fetch({uid});
        (void)c->MatchingEntries({uid});
        c->PutJwt("e" + std::to_string(w), {"aud"},
                  JwtRecord{"tok", "spiffe://example.org/x", "", clock_.Now(), clock_.Now() + absl::Minutes(5)});
        (void)c->GetJwt("e" + std::to_string(w), {"aud"});
        sub->Cancel();
        cancelled = true;
      }
    });
  }
  for (int i = 1; i <= 30; ++i) {
    c->ApplySync({E("e0", {{"unix", "uid:0"}}, i), E("e1", {{"unix", "uid:1"}}, i), E("e2", {{"unix", "uid:2"}}, i)},
                 {});
    std::vector<std::shared_ptr<const X509SvidRecord>> svids;
    for (const auto& e : c->EntriesToMint()) svids.push_back(Svid(e.id(), clock_.Now(), absl::Hours(1), i));
    c->StoreSvids(std::move(svids));
    spiffe::Bundle b;
    b.trust_domain = *spiffe::TrustDomain::Parse("example.org");
    b.sequence_number = static_cast<uint64_t>(i);
    c->SetBundle(std::move(b));
    (void)c->NextRotation();
  }
  done = true;
  for (auto& t : workloads) t.join();
  EXPECT_EQ(c->svid_count(), 3u);
  EXPECT_EQ(c->subscriber_count(), 0u);
}

spiffe::Bundle FedBundle(const std::string& td, uint64_t seq) {
  spiffe::Bundle b{.trust_domain = *spiffe::TrustDomain::Parse(td), .sequence_number = seq};
  b.x509_authorities_der = {"root-of-" + td + "-" + std::to_string(seq)};
  return b;
}

// Each workload gets the federated bundles of the domains its matching entries federate with, no others; a changed
// federated bundle is pushed, an unchanged one is not.
TEST(CacheFederationTest, WorkloadsGetTheBundlesTheirEntriesFederateWith) {
  FakeClock clock{absl::FromUnixSeconds(1750000000)};
  auto c = Cache::Create(clock, 10);
  auto a = E("a", {{"unix", "uid:1"}});
  a.add_federates_with("other.org");
  auto b = E("b", {{"unix", "uid:2"}});
  b.add_federates_with("third.org");
  c->ApplySync({a, b, E("c", {{"unix", "uid:3"}})}, {});
  EXPECT_EQ(c->FederatedTrustDomains(), (std::vector<std::string>{"other.org", "third.org"}));
  c->SetBundle(FedBundle("example.org", 1));
  c->SetFederatedBundles({FedBundle("other.org", 1), FedBundle("third.org", 1)});
  ASSERT_EQ(c->federated_bundles().size(), 2u);

  auto ua = c->Fetch({"unix:uid:1"});
  ASSERT_EQ(ua.federated.size(), 1u);
  EXPECT_EQ(ua.federated.at("other.org")->x509_der_concat, "root-of-other.org-1");
  EXPECT_TRUE(c->Fetch({"unix:uid:3"}).federated.empty());

  int pushes = 0;
  WorkloadUpdate last;
  c->StoreSvids({Svid("a", clock.Now(), absl::Hours(1))});
  auto sub = c->Subscribe({"unix:uid:1"}, [&](const WorkloadUpdate& u) {
    ++pushes;
    last = u;
  });
  const int initial = pushes;
  c->SetFederatedBundles({FedBundle("other.org", 1), FedBundle("third.org", 1)});  // nothing changed
  EXPECT_EQ(pushes, initial);
  c->SetFederatedBundles({FedBundle("other.org", 2), FedBundle("third.org", 1)});  // other.org rotated
  EXPECT_EQ(pushes, initial + 1);
  EXPECT_EQ(last.federated.at("other.org")->x509_der_concat, "root-of-other.org-2");
  c->SetFederatedBundles({FedBundle("third.org", 1)});  // the server no longer has other.org
  EXPECT_EQ(pushes, initial + 2);
  EXPECT_TRUE(last.federated.empty());
}

// The bundle subscription (SPIRE's agent's bundle stream, which the Delegated Identity API serves): every federated
// bundle held, whoever federates with it; pushed when any bundle changes, appears or goes away, and not otherwise.
TEST(CacheFederationTest, BundleSubscriptionCarriesEveryBundleHeld) {
  FakeClock clock{absl::FromUnixSeconds(1750000000)};
  auto c = Cache::Create(clock, 10);
  auto a = E("a", {{"unix", "uid:1"}});
  a.add_federates_with("other.org");
  c->ApplySync({a}, {});
  int pushes = 0;
  WorkloadUpdate last;
  auto sub = c->SubscribeToBundles([&](const WorkloadUpdate& u) {
    ++pushes;
    last = u;
  });
  EXPECT_EQ(pushes, 0);  // nothing before the trust bundle
  c->SetBundle(FedBundle("example.org", 1));
  ASSERT_EQ(pushes, 1);
  EXPECT_EQ(last.bundle->x509_der_concat, "root-of-example.org-1");
  EXPECT_TRUE(last.federated.empty());
  EXPECT_TRUE(last.svids.empty());

  c->SetFederatedBundles({FedBundle("other.org", 1), FedBundle("third.org", 1)});  // no entry federates with third
  ASSERT_EQ(pushes, 2);
  ASSERT_EQ(last.federated.size(), 2u);
  EXPECT_EQ(last.federated.at("third.org")->x509_der_concat, "root-of-third.org-1");
  c->StoreSvids({Svid("a", clock.Now(), absl::Hours(1))});                         // an SVID is no bundle change
  c->SetFederatedBundles({FedBundle("other.org", 1), FedBundle("third.org", 1)});  // nothing changed
  EXPECT_EQ(pushes, 2);
  c->SetFederatedBundles({FedBundle("other.org", 1), FedBundle("third.org", 2)});
  ASSERT_EQ(pushes, 3);
  EXPECT_EQ(last.federated.at("third.org")->x509_der_concat, "root-of-third.org-2");
  c->SetFederatedBundles({FedBundle("other.org", 1)});
  ASSERT_EQ(pushes, 4);
  EXPECT_EQ(last.federated.size(), 1u);
  c->SetBundle(FedBundle("example.org", 2));
  ASSERT_EQ(pushes, 5);
  EXPECT_EQ(last.bundle->x509_der_concat, "root-of-example.org-2");
  sub->Cancel();
  c->SetFederatedBundles({});
  EXPECT_EQ(pushes, 5);
  EXPECT_EQ(c->subscriber_count(), 0u);
}

}  // namespace
}  // namespace spirecvm::agent
