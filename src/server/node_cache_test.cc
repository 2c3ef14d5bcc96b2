#include "server/node_cache.h"

#include <gtest/gtest.h>

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
  // What agent authentication does on a miss: read the generation, then the record, then keep it.
  void Fetch(NodeCache& c, const std::string& id) {
    const uint64_t generation = c.Generation();
    c.Put(ds_->FetchAttestedNode(id).value(), generation);
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
  const uint64_t generation = c.Generation();
  auto before_ban = ds_->FetchAttestedNode(kA).value();
  ASSERT_TRUE(ds_->BanAttestedNode(kA).ok());
  ASSERT_TRUE(c.Refresh().ok());  // applies the ban's event before the (slow) read is put
  c.Put(before_ban, generation);
  EXPECT_EQ(c.Lookup(kA), nullptr);
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
