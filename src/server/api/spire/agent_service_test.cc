// SPIRE's Agent service (admin methods) called directly, on a real in-memory DataStore.
#include "server/api/spire/agent_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/spire/test_fixture.h"

namespace spirecvm::server::spireapi {
namespace {

// GetAgent has an overload for callback-API contexts (the agent endpoint's admin callers); no context at all: this.
grpc::ServerContext* const kNoContext = nullptr;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kA[] = "spiffe://example.org/spire/agent/join_token/a";
constexpr char kB[] = "spiffe://example.org/spire/agent/aws_iid/b";

class AgentServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    svc_ = std::make_unique<AgentService>(
        AgentServiceDeps{.trust_domain = td_, .ds = *ds_, .entries = *entries_, .clock = clock_, .rnd = rnd_});
    AddNode(kA, "join_token", {{"spiffe_id", kA}}, 1'800'000'100);
    AddNode(kB, "aws_iid", {{"aws_iid", "tag:x"}, {"aws_iid", "sg:y"}}, 1'800'009'000, true);
  }
  std::vector<std::string> List(const agentv1::ListAgentsRequest& req, std::string* next = nullptr) {
    agentv1::ListAgentsResponse resp;
    auto st = svc_->ListAgents(nullptr, &req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    for (auto& a : resp.agents()) out.push_back(a.id().path());
    if (next) *next = resp.next_page_token();
    return out;
  }
  std::unique_ptr<AgentService> svc_;
};

TEST_F(AgentServiceTest, ListFiltersAndPages) {
  agentv1::ListAgentsRequest req;
  EXPECT_THAT(List(req), ElementsAre("/spire/agent/aws_iid/b", "/spire/agent/join_token/a"));
  req.mutable_filter()->set_by_attestation_type("join_token");
  EXPECT_THAT(List(req), ElementsAre("/spire/agent/join_token/a"));
  req.clear_filter();
  auto* m = req.mutable_filter()->mutable_by_selector_match();
  auto* s = m->add_selectors();
  s->set_type("aws_iid");
  s->set_value("tag:x");
  m->set_match(sapi::SelectorMatch::MATCH_SUPERSET);
  EXPECT_THAT(List(req), ElementsAre("/spire/agent/aws_iid/b"));
  req.clear_filter();
  req.mutable_filter()->mutable_by_can_reattest()->set_value(true);
  EXPECT_THAT(List(req), ElementsAre("/spire/agent/aws_iid/b"));
  req.clear_filter();
  // What SPIRE's `agent purge` sends: Go's "2006-01-02 15:04:05 -0700 -07".
  req.mutable_filter()->set_by_expires_before("2027-01-15 08:06:00 +0000 UTC");
  EXPECT_THAT(List(req), ElementsAre("/spire/agent/join_token/a"));  // 1'800'000'100 = 2027-01-15T08:01:40Z
  req.mutable_filter()->set_by_expires_before("yesterday");
  agentv1::ListAgentsResponse resp;
  EXPECT_THAT(svc_->ListAgents(nullptr, &req, &resp).error_message(), HasSubstr("failed to parse by_expires_before"));
  req.clear_filter();
  req.set_page_size(1);
  std::string next;
  EXPECT_THAT(List(req, &next), ElementsAre("/spire/agent/aws_iid/b"));
  req.set_page_token(next);
  EXPECT_THAT(List(req, &next), ElementsAre("/spire/agent/join_token/a"));
  EXPECT_TRUE(next.empty());

  agentv1::CountAgentsRequest count;
  agentv1::CountAgentsResponse n;
  ASSERT_TRUE(svc_->CountAgents(nullptr, &count, &n).ok());
  EXPECT_EQ(n.count(), 2);
  count.mutable_filter()->mutable_by_banned()->set_value(true);
  ASSERT_TRUE(svc_->CountAgents(nullptr, &count, &n).ok());
  EXPECT_EQ(n.count(), 0);
}

TEST_F(AgentServiceTest, GetBanDelete) {
  agentv1::GetAgentRequest get;
  *get.mutable_id() = Id("example.org", "/spire/agent/join_token/a");
  sapi::Agent a;
  ASSERT_TRUE(svc_->GetAgent(kNoContext, &get, &a).ok());
  EXPECT_EQ(a.attestation_type(), "join_token");
  EXPECT_EQ(a.x509svid_serial_number(), "42");
  EXPECT_EQ(a.x509svid_expires_at(), 1'800'000'100);
  *get.mutable_id() = Id("example.org", "/workload");
  EXPECT_THAT(svc_->GetAgent(kNoContext, &get, &a).error_message(), HasSubstr("invalid agent ID"));

  agentv1::BanAgentRequest ban;
  *ban.mutable_id() = Id("example.org", "/spire/agent/join_token/a");
  google::protobuf::Empty empty;
  ASSERT_TRUE(svc_->BanAgent(nullptr, &ban, &empty).ok());
  EXPECT_TRUE(ds_->FetchAttestedNode(kA)->banned);

  agentv1::DeleteAgentRequest del;
  *del.mutable_id() = ban.id();
  ASSERT_TRUE(svc_->DeleteAgent(nullptr, &del, &empty).ok());
  auto again = svc_->DeleteAgent(nullptr, &del, &empty);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(again.error_message(), "agent not found");
}

TEST_F(AgentServiceTest, CreateJoinTokenWithNodeAlias) {
  agentv1::CreateJoinTokenRequest req;
  sapi::JoinToken tok;
  EXPECT_EQ(svc_->CreateJoinToken(nullptr, &req, &tok).error_message(), "ttl is required, you must provide one");
  req.set_ttl(600);
  *req.mutable_agent_id() = Id("example.org", "/node/one");
  ASSERT_TRUE(svc_->CreateJoinToken(nullptr, &req, &tok).ok());
  EXPECT_EQ(tok.value().size(), 36u);
  EXPECT_EQ(tok.expires_at(), 1'800'000'600);
  datastore::ListEntriesFilter f;
  f.by_spiffe_id = "spiffe://example.org/node/one";
  auto alias = ds_->ListEntries(f);
  ASSERT_EQ(alias->size(), 1u);
  const std::string agent_id = "spiffe://example.org/spire/agent/join_token/" + tok.value();
  EXPECT_EQ(alias->front().parent_id, agent_id);
  EXPECT_THAT(alias->front().selectors, ElementsAre(datastore::Selector{"spiffe_id", agent_id}));
  EXPECT_TRUE(ds_->ConsumeJoinToken(tok.value(), 1'800'000'001).ok());
  // A chosen token value is kept; an agent ID outside the trust domain is refused.
  req.set_token("my-token");
  *req.mutable_agent_id() = Id("other.org", "/node");
  EXPECT_THAT(svc_->CreateJoinToken(nullptr, &req, &tok).error_message(), HasSubstr("invalid agent ID"));
  req.clear_agent_id();
  ASSERT_TRUE(svc_->CreateJoinToken(nullptr, &req, &tok).ok());
  EXPECT_EQ(tok.value(), "my-token");
}

// What SPIRE refuses to local callers (its policy has no allow_local for them) is PermissionDenied here too.
TEST_F(AgentServiceTest, AgentCallsAreRefusedOnTheAdminSocketAsSpire) {
  agentv1::RenewAgentRequest renew;
  agentv1::RenewAgentResponse renewed;
  grpc::Status st = svc_->RenewAgent(nullptr, &renew, &renewed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "authorization denied for method /spire.api.server.agent.v1.Agent/RenewAgent");
  agentv1::PostStatusRequest post;
  agentv1::PostStatusResponse posted;
  st = svc_->PostStatus(nullptr, &post, &posted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "authorization denied for method /spire.api.server.agent.v1.Agent/PostStatus");
}

}  // namespace
}  // namespace spirecvm::server::spireapi
