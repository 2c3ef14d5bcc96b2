#include "server/nodeattest/join_token_attestor.h"

#include "gtest/gtest.h"

namespace spirecvm::server {
namespace {

class NoChallenges final : public ChallengeChannel {
 public:
  absl::StatusOr<std::string> Challenge(std::string_view) override {
    return absl::InternalError("unexpected challenge");
  }
};

// The attestor checks the token's form and names the agent; spending the token is the admission's (tested with
// the DataStore in api/node_attestation_test.cc and datastore_conformance.cc).
class JoinTokenTest : public ::testing::Test {
 protected:
  absl::StatusOr<AttestationResult> Attest(const std::string& token) {
    NoChallenges ch;
    return att_->Attest({token, ""}, ch);
  }
  std::unique_ptr<NodeAttestor> att_ = NewJoinTokenAttestor(*spiffe::TrustDomain::Parse("example.org"));
};

TEST_F(JoinTokenTest, AWellFormedTokenNamesTheAgentAndIsHandedToTheAdmission) {
  auto r = Attest("tok-1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent_id.ToString(), "spiffe://example.org/spire/agent/join_token/tok-1");
  EXPECT_FALSE(r->can_reattest);
  EXPECT_TRUE(r->selectors.empty());
  EXPECT_EQ(r->join_token, "tok-1");
}

TEST_F(JoinTokenTest, EmptyLongAndMalformedTokens) {
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("a/b").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("a b").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest(std::string(300, 'a')).status()));
}

}  // namespace
}  // namespace spirecvm::server
