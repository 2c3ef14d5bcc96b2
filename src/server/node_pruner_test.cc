#include "server/node_pruner.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::server {
namespace {

class NodePrunerTest : public ::testing::Test {
 protected:
  void SetUp() override { ds_ = datastore::OpenSqlite({":memory:"}, clock_).value(); }

  void Add(const std::string& id, int64_t not_after, bool can_reattest, bool banned = false,
           int64_t new_not_after = 0) {
    datastore::AttestedNode n;
    n.spiffe_id = id;
    n.attestation_type = can_reattest ? "aws_iid" : "join_token";
    n.cert_serial = "1";
    n.cert_not_after = not_after;
    n.new_cert_not_after = new_not_after;
    n.can_reattest = can_reattest;
    n.banned = banned;
    ASSERT_TRUE(ds_->UpsertAttestedNode(n).ok());
  }
  bool Exists(const std::string& id) { return ds_->FetchAttestedNode(id).ok(); }

  FakeClock clock_{absl::FromUnixSeconds(1'000'000)};
  std::unique_ptr<datastore::DataStore> ds_;
};

TEST_F(NodePrunerTest, PrunesOnlyLongExpiredReattestableUnbannedNodes) {
  const int64_t now = 1'000'000;
  Add("spiffe://td/agent/old", now - 7200, true);
  Add("spiffe://td/agent/recent", now - 1800, true);  // expired, but not for an hour yet
  Add("spiffe://td/agent/valid", now + 3600, true);
  Add("spiffe://td/agent/banned", now - 7200, true, true);               // a ban outlives the SVID
  Add("spiffe://td/agent/tofu", now - 7200, false);                      // join_token: cannot re-attest
  Add("spiffe://td/agent/renewing", now - 7200, true, false, now + 60);  // its pending SVID is still valid

  auto pruned = PruneExpiredNodes(*ds_, clock_.Now(), {.expired_for = absl::Hours(1), .include_tofu = false});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 1);
  EXPECT_FALSE(Exists("spiffe://td/agent/old"));
  EXPECT_TRUE(Exists("spiffe://td/agent/recent"));
  EXPECT_TRUE(Exists("spiffe://td/agent/valid"));
  EXPECT_TRUE(Exists("spiffe://td/agent/banned"));
  EXPECT_TRUE(Exists("spiffe://td/agent/tofu"));
  EXPECT_TRUE(Exists("spiffe://td/agent/renewing"));

  pruned = PruneExpiredNodes(*ds_, clock_.Now(), {.expired_for = absl::Hours(1), .include_tofu = true});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  EXPECT_FALSE(Exists("spiffe://td/agent/tofu"));
  EXPECT_TRUE(Exists("spiffe://td/agent/banned"));
}

TEST_F(NodePrunerTest, OffWhenNotConfigured) {
  Add("spiffe://td/agent/old", 1, true);
  auto pruned = PruneExpiredNodes(*ds_, clock_.Now(), {});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 0);
  EXPECT_TRUE(Exists("spiffe://td/agent/old"));
}

}  // namespace
}  // namespace spirecvm::server
