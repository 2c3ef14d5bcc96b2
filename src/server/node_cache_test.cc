#include "server/node_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::server {
namespace {

constexpr char kA[] = "spiffe://example.org/spire/agent/x/a";
constexpr char kB[] = "spiffe://example.org/spire/agent/x/b";

class NodeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ds_ = datastore::OpenSqlite({":memory:"}, clock_).value();
    for (const char* id : {kA, kB}) ASSERT_TRUE(ds_->UpsertAttestedNode(Node(id)).ok());
  }
  static datastore::AttestedNode Node(const std::string& id) {
    datastore::AttestedNode n;
    n.spiffe_id = id;
    n.attestation_type = "x";
    n.cert_serial = "1";
    n.selectors = {{"x", "y"}};
    return n;
  }
  // What agent authentication does on a miss: take a ticket, read the record, keep it.
  void Fetch(NodeCache& c, const std::string& id) {
    const NodeCache::ReadTicket ticket = c.BeginRead();
    c.Put(ds_->FetchAttestedNode(id).value(), ticket);
  }

  FakeClock clock_{absl::FromUnixSeconds(1'000'000)};
  std::unique_ptr<datastore::DataStore> ds_;
};

TEST_F(NodeCacheTest, OffWhenTheStalenessIsZero) {
  NodeCache c(*ds_, clock_, absl::ZeroDuration());
  EXPECT_FALSE(c.enabled());
  ASSERT_TRUE(c.Refresh().ok());
  Fetch(c, kA);
  EXPECT_EQ(c.Lookup(kA), nullptr);
  EXPECT_EQ(c.size(), 0u);
}

TEST_F(NodeCacheTest, KeepsNothingBeforeTheFirstRefresh) {
  NodeCache c(*ds_, clock_, absl::Seconds(30));
  Fetch(c, kA);  // where the events stand is not known yet, so no event could drop it
  EXPECT_EQ(c.Lookup(kA), nullptr);
  ASSERT_TRUE(c.Refresh().ok());
  Fetch(c, kA);
  ASSERT_NE(c.Lookup(kA), nullptr);
  EXPECT_EQ(c.Lookup(kA)->cert_serial, "1");
  EXPECT_EQ(c.Lookup(kA)->selectors.size(), 1u);
}

TEST_F(NodeCacheTest, ARecordAnswersUntilItIsMaxStalenessOld) {
  NodeCache c(*ds_, clock_, absl::Seconds(30));
  ASSERT_TRUE(c.Refresh().ok());
  Fetch(c, kA);
  clock_.Advance(absl::Seconds(29));
  EXPECT_NE(c.Lookup(kA), nullptr);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(c.Lookup(kA), nullptr);
  Fetch(c, kA);  // read again: fresh for another 30 s
  EXPECT_NE(c.Lookup(kA), nullptr);
}

// A poll that finds no event about a record confirms it; the staleness counts from the last confirmation.
TEST_F(NodeCacheTest, EveryEventPollConfirmsTheRecordsItKeeps) {
  NodeCache c(*ds_, clock_, absl::Seconds(30));
  ASSERT_TRUE(c.Refresh().ok());
  Fetch(c, kA);
  clock_.Advance(absl::Seconds(20));
  ASSERT_TRUE(c.Refresh().ok());
  clock_.Advance(absl::Seconds(29));  // 49 s after the read, 29 s after the poll
  EXPECT_NE(c.Lookup(kA), nullptr);
  clock_.Advance(absl::Seconds(1));  // no poll for 30 s (the datastore unreachable, say): it stops answering
  EXPECT_EQ(c.Lookup(kA), nullptr);
  ASSERT_TRUE(c.Refresh().ok());  // nothing named it meanwhile, so what was read is still current
  EXPECT_NE(c.Lookup(kA), nullptr);
}

// The read's age counts from before the read, not from when it was put.
TEST_F(NodeCacheTest, ARecordIsAsOldAsItsTicket) {
  NodeCache c(*ds_, clock_, absl::Seconds(30));
  ASSERT_TRUE(c.Refresh().ok());
  const NodeCache::ReadTicket ticket = c.BeginRead();
  auto node = ds_->FetchAttestedNode(kA).value();
  clock_.Advance(absl::Seconds(10));  // a slow read
  c.Put(node, ticket);
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(c.Lookup(kA), nullptr);
}

TEST_F(NodeCacheTest, NodeEventsDropTheRecordsTheyName) {
  NodeCache c(*ds_, clock_, absl::Minutes(5));
  ASSERT_TRUE(c.Refresh().ok());
  Fetch(c, kA);
  Fetch(c, kB);
  ASSERT_TRUE(ds_->BanAttestedNode(kA).ok());
  // Until the events are applied, the record read before the ban answers: the trade the option makes.
  EXPECT_NE(c.Lookup(kA), nullptr);
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_EQ(c.Lookup(kA), nullptr);
  EXPECT_NE(c.Lookup(kB), nullptr);

  // Every kind of node write is an event: new selectors, eviction.
  Fetch(c, kA);
  ASSERT_TRUE(ds_->SetNodeSelectors(kB, {{"x", "z"}}).ok());
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_EQ(c.Lookup(kB), nullptr);
  ASSERT_NE(c.Lookup(kA), nullptr);
  EXPECT_TRUE(c.Lookup(kA)->banned);
  ASSERT_TRUE(ds_->DeleteAttestedNode(kA).ok());
  ASSERT_TRUE(c.Refresh().ok());
  EXPECT_EQ(c.Lookup(kA), nullptr);
}

TEST_F(NodeCacheTest, ARecordReadBeforeAppliedEventsIsNotKept) {
  NodeCache c(*ds_, clock_, absl::Minutes(5));
  ASSERT_TRUE(c.Refresh().ok());
  const NodeCache::ReadTicket ticket = c.BeginRead();
  auto before_ban = ds_->FetchAttestedNode(kA).value();
  ASSERT_TRUE(ds_->BanAttestedNode(kA).ok());
  ASSERT_TRUE(c.Refresh().ok());  // applies the ban's event before the (slow) read is put
  c.Put(before_ban, ticket);
  EXPECT_EQ(c.Lookup(kA), nullptr);
}

// Readers filling the cache while a writer changes the nodes and the events are applied (the server: gRPC threads
// and the background loop). Once the last events are applied, whatever the cache holds is what the datastore holds:
// a read that raced a write was either dropped by that write's event or refused by the generation check.
TEST_F(NodeCacheTest, RacingReadsNeverOutliveTheEventsAppliedAfterThem) {
  NodeCache c(*ds_, clock_, absl::Minutes(5));
  ASSERT_TRUE(c.Refresh().ok());
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (const char* id : {kA, kB}) {
          if (c.Lookup(id) != nullptr) continue;
          const NodeCache::ReadTicket ticket = c.BeginRead();
          auto n = ds_->FetchAttestedNode(id);
          if (n.ok()) c.Put(*std::move(n), ticket);
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(ds_->SetNodeSelectors(i % 2 ? kA : kB, {{"x", std::to_string(i)}}).ok());
    ASSERT_TRUE(c.Refresh().ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  for (const char* id : {kA, kB}) {
    auto cached = c.Lookup(id);
    if (cached == nullptr) continue;
    ASSERT_EQ(cached->selectors.size(), 1u);
    EXPECT_EQ(cached->selectors[0].value, ds_->FetchAttestedNode(id)->selectors.at(0).value) << id;
  }
}

TEST_F(NodeCacheTest, RemoveDropsOneRecord) {
  NodeCache c(*ds_, clock_, absl::Minutes(5));
  ASSERT_TRUE(c.Refresh().ok());
  Fetch(c, kA);
  Fetch(c, kB);
  c.Remove(kA);
  EXPECT_EQ(c.Lookup(kA), nullptr);
  EXPECT_NE(c.Lookup(kB), nullptr);
  EXPECT_EQ(c.size(), 1u);
}

}  // namespace
}  // namespace spirecvm::server
