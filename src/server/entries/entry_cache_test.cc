#include "server/entries/entry_cache.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::server {
namespace {

constexpr char kServer[] = "spiffe://example.org/spire/server";
constexpr char kAgent[] = "spiffe://example.org/spire/agent/join_token/t1";

class EntryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock_);
    ASSERT_TRUE(ds.ok()) << ds.status();
    ds_ = std::move(*ds);
  }
  std::string Create(const std::string& id, const std::string& parent, std::vector<datastore::Selector> sel) {
    datastore::RegistrationEntry e;
    e.spiffe_id = id;
    e.parent_id = parent;
    e.selectors = std::move(sel);
    auto r = ds_->CreateEntry(e);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->id;
  }
  std::set<std::string> Ids(const EntryCache& c, const std::vector<datastore::Selector>& node_sel) {
    std::set<std::string> out;
    for (auto& e : c.AuthorizedEntries(kAgent, node_sel)) out.insert(e->spiffe_id);
    return out;
  }
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<datastore::DataStore> ds_;
};

TEST_F(EntryCacheTest, AgentChildrenAliasesAndDescendants) {
  Create("spiffe://example.org/direct", kAgent, {{"unix", "uid:1000"}});
  Create("spiffe://example.org/alias", kServer, {{"aws_iid", "measurements:aa"}});
  Create("spiffe://example.org/via-alias", "spiffe://example.org/alias", {{"unix", "uid:0"}});
  Create("spiffe://example.org/grandchild", "spiffe://example.org/via-alias", {{"unix", "uid:1"}});
  Create("spiffe://example.org/other-alias", kServer, {{"aws_iid", "measurements:bb"}});
  Create("spiffe://example.org/not-mine", "spiffe://example.org/other-alias", {{"unix", "uid:0"}});
  Create("spiffe://example.org/needs-two", kServer, {{"aws_iid", "measurements:aa"}, {"aws_iid", "region:x"}});
  Create("spiffe://example.org/under-two", "spiffe://example.org/needs-two", {{"unix", "uid:0"}});
  EntryCache c(*ds_, kServer);
  ASSERT_TRUE(c.Load().ok());
  EXPECT_EQ(Ids(c, {{"aws_iid", "measurements:aa"}}),
            (std::set<std::string>{"spiffe://example.org/direct", "spiffe://example.org/via-alias",
                                   "spiffe://example.org/grandchild"}));
  EXPECT_EQ(Ids(c, {}), std::set<std::string>{"spiffe://example.org/direct"});
  EXPECT_EQ(Ids(c, {{"aws_iid", "measurements:aa"}, {"aws_iid", "region:x"}}).count("spiffe://example.org/under-two"),
            1u);
}

TEST_F(EntryCacheTest, RefreshAppliesCreatesUpdatesAndDeletesFromEvents) {
  EntryCache c(*ds_, kServer);
  ASSERT_TRUE(c.Load().ok());
  std::string id = Create("spiffe://example.org/a", kAgent, {{"unix", "uid:1"}});
  EXPECT_TRUE(Ids(c, {}).empty()) << "not visible before a refresh";
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_EQ(Ids(c, {}), std::set<std::string>{"spiffe://example.org/a"});
  auto e = ds_->FetchEntry(id);
  e->parent_id = "spiffe://example.org/spire/agent/join_token/other";
  ASSERT_TRUE(ds_->UpdateEntry(*e).ok());
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_TRUE(Ids(c, {}).empty()) << "moved to another agent";
  e->parent_id = kAgent;
  ASSERT_TRUE(ds_->UpdateEntry(*e).ok());
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_EQ(c.AuthorizedEntries(kAgent, {})[0]->revision_number, 2);
  ASSERT_TRUE(ds_->DeleteEntry(id).ok());
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_TRUE(Ids(c, {}).empty());
  EXPECT_EQ(c.size(), 0u);
}

// Entries of one parent hold one parent string; an answer keeps its entries' parent alive after the cache drops it.
TEST_F(EntryCacheTest, EntriesOfOneParentShareTheParentIdString) {
  Create("spiffe://example.org/a", kAgent, {{"unix", "uid:1"}});
  Create("spiffe://example.org/b", kAgent, {{"unix", "uid:2"}});
  EntryCache c(*ds_, kServer);
  ASSERT_TRUE(c.Load().ok());
  auto got = c.AuthorizedEntries(kAgent, {});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(*got[0]->parent_id, kAgent);
  EXPECT_EQ(got[0]->parent_id.get(), got[1]->parent_id.get()) << "one string for both";
  // An entry created later (Refresh) joins the same string.
  Create("spiffe://example.org/c", kAgent, {{"unix", "uid:3"}});
  ASSERT_TRUE(c.Refresh().ok());
  auto three = c.AuthorizedEntries(kAgent, {});
  ASSERT_EQ(three.size(), 3u);
  for (const auto& e : three) EXPECT_EQ(e->parent_id.get(), got[0]->parent_id.get());
  // Every entry of the parent deleted: the cache forgets the parent, the earlier answer still reads it.
  for (const auto& e : three) ASSERT_TRUE(ds_->DeleteEntry(e->id).ok());
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_TRUE(c.AuthorizedEntries(kAgent, {}).empty());
  EXPECT_EQ(*got[1]->parent_id, kAgent);
}

}  // namespace
}  // namespace spirecvm::server

namespace spirecvm::server {
namespace {

// Agents' calls read the cache while the background loop refreshes it from events written meanwhile: readers
// always see a consistent set (this suite also runs under ThreadSanitizer, `make test-tsan`).
TEST_F(EntryCacheTest, ConcurrentReadersWhileRefreshing) {
  EntryCache c(*ds_, kServer);
  ASSERT_TRUE(c.Load().ok());
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      size_t last = 0;
      while (!done.load()) {
        size_t n = c.AuthorizedEntries(kAgent, {}).size();
        EXPECT_GE(n, last) << "entries are only added in this test";
        last = n;
        (void)c.size();
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    Create("spiffe://example.org/w" + std::to_string(i), kAgent, {{"unix", "uid:" + std::to_string(i)}});
    ASSERT_TRUE(c.Refresh().ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(c.AuthorizedEntries(kAgent, {}).size(), 40u);
}

}  // namespace
}  // namespace spirecvm::server
