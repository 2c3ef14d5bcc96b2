#include "server/bundle_cache.h"

#include <atomic>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {
namespace {

TEST(BundleCacheTest, ParsesOncePerSequenceAndKeepsTheLastGoodSnapshot) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock);
  ASSERT_TRUE(ds.ok());
  BundleCache cache(**ds, "example.org");
  EXPECT_FALSE(cache.Get().ok()) << "no bundle yet";
  TestOnlyDeterministicRandom rnd(3);
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = *spiffe::TrustDomain::Parse("example.org"),
                     .public_key = nullptr,
                     .not_before = clock.Now() - absl::Hours(1),
                     .not_after = clock.Now() + absl::Hours(1)};
  auto ca1 = spiffe::SelfSignCa(key->get(), p, rnd);
  ASSERT_TRUE((*ds)->AppendBundle({"example.org", {crypto::CertToDer(ca1->get())}, {}, 0, 0}).ok());
  auto first = cache.Get();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ((*first)->roots.size(), 1u);
  ASSERT_TRUE(cache.Refresh().ok());
  EXPECT_EQ(cache.Get()->get(), first->get()) << "unchanged bundle: same snapshot, nothing re-parsed";
  auto ca2 = spiffe::SelfSignCa(key->get(), p, rnd);
  ASSERT_TRUE((*ds)->AppendBundle({"example.org", {crypto::CertToDer(ca2->get())}, {}, 0, 0}).ok());
  EXPECT_EQ((*cache.Get())->roots.size(), 1u) << "not visible before a refresh";
  ASSERT_TRUE(cache.Refresh().ok());
  EXPECT_EQ((*cache.Get())->roots.size(), 2u);
}

}  // namespace
}  // namespace spirecvm::server

namespace spirecvm::server {
namespace {

// Agent API calls read snapshots while the background loop refreshes after CA rotations; a snapshot stays valid
// for its holder after it is replaced (this suite also runs under ThreadSanitizer, `make test-tsan`).
TEST(BundleCacheTest, ConcurrentReadersWhileRotating) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock);
  ASSERT_TRUE(ds.ok());
  TestOnlyDeterministicRandom rnd(5);
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = *spiffe::TrustDomain::Parse("example.org"),
                     .public_key = nullptr,
                     .not_before = clock.Now() - absl::Hours(1),
                     .not_after = clock.Now() + absl::Hours(1)};
  auto append = [&] {
    auto ca = spiffe::SelfSignCa(key->get(), p, rnd);
    ASSERT_TRUE((*ds)->AppendBundle({"example.org", {crypto::CertToDer(ca->get())}, {}, 0, 0}).ok());
  };
  append();
  BundleCache cache(**ds, "example.org");
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      size_t last = 0;
      while (!done.load()) {
        auto snap = cache.Get();
        ASSERT_TRUE(snap.ok());
        EXPECT_EQ((*snap)->roots.size(), (*snap)->record.x509_authorities_der.size());
        EXPECT_GE((*snap)->roots.size(), last);
        last = (*snap)->roots.size();
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    append();
    ASSERT_TRUE(cache.Refresh().ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ((*cache.Get())->roots.size(), 21u);
}

}  // namespace
}  // namespace spirecvm::server
