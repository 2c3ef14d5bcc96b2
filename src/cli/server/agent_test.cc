// spire-server agent list|show|count|evict|ban|purge against in-process fakes of SPIRE's agent API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"

namespace spirecvm::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeSpireServer;
using testing::Id;
using testing::RunOn;

stypes::Agent MakeAgent(const std::string& path, int64_t expires_at, bool banned, bool can_reattest) {
  stypes::Agent a;
  *a.mutable_id() = Id("td", path);
  a.set_attestation_type("join_token");
  a.set_x509svid_serial_number("1234");
  a.set_x509svid_expires_at(expires_at);
  a.set_banned(banned);
  a.set_can_reattest(can_reattest);
  auto* s = a.add_selectors();
  s->set_type("join_token");
  s->set_value("abc");
  return a;
}

class AgentCliTest : public ::testing::Test {
 protected:
  testing::CliResult Run(const CommandFn& fn, std::vector<std::string> args) { return RunOn(srv_, fn, args); }
  FakeSpireServer srv_;
};

TEST_F(AgentCliTest, ListPrintsAsSpireAndSendsTheFilters) {
  auto r = Run(AgentList, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "No attested agents found\n");
  srv_.agent.agents = {MakeAgent("/spire/agent/join_token/a", 1700000000, false, false),
                       MakeAgent("/spire/agent/join_token/b", 1700000000, true, true)};
  r = Run(AgentList, {"-selector", "join_token:abc", "-matchSelectorsOn", "exact", "-attestationType", "join_token",
                      "-banned", "true", "-canReattest", "false", "-expiresBefore", "2024-01-02 15:04:05 +0000 +00"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Found 2 attested agents:\n\n"
            "SPIFFE ID         : spiffe://td/spire/agent/join_token/a\n"
            "Attestation type  : join_token\n"
            "Expiration time   : 2023-11-14 22:13:20 +0000 UTC\n"
            "Serial number     : 1234\n"
            "Can re-attest     : false\n\n"
            "SPIFFE ID         : spiffe://td/spire/agent/join_token/b\n"
            "Attestation type  : join_token\n"
            "Expiration time   : 2023-11-14 22:13:20 +0000 UTC\n"
            "Banned            : true\n"
            "Can re-attest     : true\n\n");
  const auto& f = srv_.agent.lists.back().filter();
  EXPECT_EQ(srv_.agent.lists.back().page_size(), 1000);
  EXPECT_EQ(f.by_selector_match().match(), stypes::SelectorMatch::MATCH_EXACT);
  EXPECT_EQ(f.by_selector_match().selectors(0).value(), "abc");
  EXPECT_EQ(f.by_attestation_type(), "join_token");
  EXPECT_TRUE(f.by_banned().value());
  ASSERT_TRUE(f.has_by_can_reattest());
  EXPECT_FALSE(f.by_can_reattest().value());
  EXPECT_EQ(f.by_expires_before(), "2024-01-02 15:04:05 +0000 +00");

  r = Run(AgentList, {"-banned", "maybe"});  // SPIRE: anything but true/false means "all"
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(srv_.agent.lists.back().filter().has_by_banned());
  r = Run(AgentList, {"-expiresBefore", "tomorrow"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: date is not valid: parsing time \"tomorrow\""));
}

TEST_F(AgentCliTest, ListJsonIsSpiresProtojson) {
  srv_.agent.agents = {MakeAgent("/spire/agent/join_token/a", 1700000000, false, true)};
  auto r = Run(AgentList, {"-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, R"({"agents":[{"attestation_type":"join_token","banned":false,"can_reattest":true,)"
                   R"("id":{"path":"/spire/agent/join_token/a","trust_domain":"td"},)"
                   R"("selectors":[{"type":"join_token","value":"abc"}],"x509svid_expires_at":"1700000000",)"
                   R"("x509svid_serial_number":"1234"}],"next_page_token":""})"
                   "\n");
}

TEST_F(AgentCliTest, ShowCountEvictBan) {
  srv_.agent.agents = {MakeAgent("/spire/agent/join_token/a", 1700000000, false, false)};
  auto r = Run(AgentShow, {"-spiffeID", "spiffe://td/spire/agent/join_token/a"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Found an attested agent given its SPIFFE ID\n\n"
            "SPIFFE ID         : spiffe://td/spire/agent/join_token/a\n"
            "Attestation type  : join_token\n"
            "Expiration time   : 2023-11-14 22:13:20 +0000 UTC\n"
            "Serial number     : 1234\n"
            "Can re-attest     : false\n\n"
            "Selectors         : join_token:abc\n");
  r = Run(AgentShow, {"-spiffeID", "spiffe://td/spire/agent/join_token/nope"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: rpc error: code = NotFound desc = agent not found\n");
  r = Run(AgentShow, {});
  EXPECT_EQ(r.err, "Error: a SPIFFE ID is required\n");

  r = Run(AgentCount, {"-canReattest", "true"});
  EXPECT_EQ(r.out, "1 attested agent\n");
  EXPECT_TRUE(srv_.agent.counts.back().filter().by_can_reattest().value());
  EXPECT_EQ(Run(AgentCount, {"-output", "json"}).out, "{\"count\":1}\n");

  r = Run(AgentEvict, {"-spiffeID", "spiffe://td/spire/agent/join_token/a"});
  EXPECT_EQ(r.out, "Agent evicted successfully\n");
  r = Run(AgentBan, {"-spiffeID", "spiffe://td/spire/agent/join_token/a", "-output", "json"});
  EXPECT_EQ(r.out, "{}\n");
  EXPECT_THAT(srv_.agent.deleted, ElementsAre("spiffe://td/spire/agent/join_token/a"));
  EXPECT_THAT(srv_.agent.banned, ElementsAre("spiffe://td/spire/agent/join_token/a"));
  EXPECT_EQ(Run(AgentBan, {}).err, "Error: a SPIFFE ID is required\n");
}

TEST_F(AgentCliTest, PurgeDeletesOnlyLongExpiredReattestableAgents) {
  // Expired in 1970 (far longer ago than -expiredFor) or expiring in 2100 (never purged).
  srv_.agent.agents = {MakeAgent("/spire/agent/aws_iid/old", 1, false, true),
                       MakeAgent("/spire/agent/aws_iid/undeletable", 1, false, true),
                       MakeAgent("/spire/agent/aws_iid/fresh", 4102444800, false, true)};
  auto r = Run(AgentPurge, {"-dryRun"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Found 2 expired agents\n\n\nAgents that can be purged:\n"
            "SPIFFE ID         : spiffe://td/spire/agent/aws_iid/old\n"
            "SPIFFE ID         : spiffe://td/spire/agent/aws_iid/undeletable\n");
  EXPECT_TRUE(srv_.agent.deleted.empty());
  const auto& req = srv_.agent.lists.back();
  EXPECT_TRUE(req.filter().by_can_reattest().value());
  EXPECT_TRUE(req.output_mask().x509svid_expires_at());

  r = Run(AgentPurge, {"-expiredFor", "1h", "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, R"([{"expired_agents":[{"agent_id":"spiffe://td/spire/agent/aws_iid/old","deleted":true},)"
                   R"({"agent_id":"spiffe://td/spire/agent/aws_iid/undeletable","deleted":false,)"
                   R"("error":"rpc error: code = Internal desc = failed to remove agent"}]}])"
                   "\n");
  EXPECT_THAT(srv_.agent.deleted, ElementsAre("spiffe://td/spire/agent/aws_iid/old"));
  r = Run(AgentPurge, {});
  EXPECT_EQ(r.out,
            "Found 2 expired agents\n\nAgents purged:\n"
            "SPIFFE ID         : spiffe://td/spire/agent/aws_iid/old\n"
            "Agents not purged:\n"
            "SPIFFE ID         : spiffe://td/spire/agent/aws_iid/undeletable\n"
            "Error             : rpc error: code = Internal desc = failed to remove agent\n");
  srv_.agent.agents.clear();
  EXPECT_EQ(Run(AgentPurge, {}).out, "No agents to purge.\n");
  EXPECT_EQ(Run(AgentPurge, {"-expiredFor", "soon"}).rc, 1);
}

}  // namespace
}  // namespace spirecvm::cli
