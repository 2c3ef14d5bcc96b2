// Test-only: the server's core parts as Server::Start builds them (an in-memory SQLite DataStore, a CA with a
// memory KeyManager, the entry and bundle caches) over a fake clock and deterministic randomness, for the
// service tests that need no configuration and no endpoints. Fixtures derive from it and call its SetUp().
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/random.h"
#include "gtest/gtest.h"
#include "server/bundle_cache.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/entries/entry_cache.h"
#include "server/keymanager/key_manager.h"
#include "server/metrics.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server::testing {

class ServerPartsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock_, rnd_);
    ASSERT_TRUE(ds.ok()) << ds.status();
    ds_ = std::move(*ds);
    km_ = NewMemoryKeyManager();
    CaConfig cc;
    cc.trust_domain = td_;
    cc.server_id = "s1";
    auto ca = CaManager::Create(cc, *km_, *ds_, clock_, rnd_, nullptr);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::move(*ca);
    ASSERT_TRUE(ca_->Initialize().ok());
    entries_ = std::make_unique<EntryCache>(*ds_, "spiffe://example.org/spire/server");
    ASSERT_TRUE(entries_->Load().ok());
    bundle_ = std::make_unique<BundleCache>(*ds_, "example.org");
  }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  TestOnlyDeterministicRandom rnd_{7};
  spiffe::TrustDomain td_ = *spiffe::TrustDomain::Parse("example.org");
  Metrics metrics_;
  std::unique_ptr<datastore::DataStore> ds_;
  std::unique_ptr<KeyManager> km_;
  std::unique_ptr<CaManager> ca_;
  std::unique_ptr<EntryCache> entries_;
  std::unique_ptr<BundleCache> bundle_;
};

}  // namespace spirecvm::server::testing
