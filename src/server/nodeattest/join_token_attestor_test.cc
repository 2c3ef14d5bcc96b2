#include "server/nodeattest/join_token_attestor.h"

#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::server {
namespace {

class NoChallenges final : public ChallengeChannel {
 public:
  absl::StatusOr<std::string> Challenge(std::string_view) override {
    return absl::InternalError("unexpected challenge");
  }
};

class JoinTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock_);
    ASSERT_TRUE(ds.ok());
    ds_ = std::move(*ds);
    att_ = NewJoinTokenAttestor(*spiffe::TrustDomain::Parse("example.org"), *ds_, clock_);
  }
  absl::StatusOr<AttestationResult> Attest(const std::string& token) {
    NoChallenges ch;
    return att_->Attest({token, ""}, ch);
  }
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<datastore::DataStore> ds_;
  std::unique_ptr<NodeAttestor> att_;
};

TEST_F(JoinTokenTest, ValidTokenYieldsTheAgentIdOnce) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok-1", absl::ToUnixSeconds(clock_.Now()) + 60}).ok());
  auto r = Attest("tok-1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent_id.ToString(), "spiffe://example.org/spire/agent/join_token/tok-1");
  EXPECT_FALSE(r->can_reattest);
  auto again = Attest("tok-1");
  EXPECT_TRUE(absl::IsPermissionDenied(again.status()));
  EXPECT_NE(std::string(again.status().message()).find("already been used"), std::string::npos);
}

TEST_F(JoinTokenTest, ExpiredTokenIsRejected) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok-2", absl::ToUnixSeconds(clock_.Now()) + 60}).ok());
  clock_.Advance(absl::Seconds(61));
  auto r = Attest("tok-2");
  EXPECT_TRUE(absl::IsPermissionDenied(r.status()));
  EXPECT_NE(std::string(r.status().message()).find("expired"), std::string::npos) << r.status();
}

TEST_F(JoinTokenTest, UnknownEmptyAndMalformedTokens) {
  EXPECT_TRUE(absl::IsPermissionDenied(Attest("nope").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("a/b").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest(std::string(300, 'a')).status()));
}

}  // namespace
}  // namespace spirecvm::server
