#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"

namespace spirecvm::cli {
namespace {

using testing::FakeSpireServer;
using testing::RunOn;

TEST(TokenCliTest, GenerateSendsTtlAndAgentIdAndPrintsAsSpire) {
  FakeSpireServer srv;
  auto r = RunOn(srv, TokenGenerate, {"-ttl", "90", "-spiffeID", "spiffe://td/host"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Token: 11111111-2222-4333-8444-555555555555\n");
  ASSERT_EQ(srv.agent.tokens.size(), 1u);
  EXPECT_EQ(srv.agent.tokens[0].ttl(), 90);
  EXPECT_EQ(IdString(srv.agent.tokens[0].agent_id()), "spiffe://td/host");

  r = RunOn(srv, TokenGenerate, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Token: 11111111-2222-4333-8444-555555555555\nWarning: Missing SPIFFE ID.\n");
  EXPECT_EQ(srv.agent.tokens[1].ttl(), 600);  // the default
  EXPECT_FALSE(srv.agent.tokens[1].has_agent_id());

  r = RunOn(srv, TokenGenerate, {"-output", "json"});
  EXPECT_EQ(r.out, "{\"expires_at\":\"1700000600\",\"value\":\"11111111-2222-4333-8444-555555555555\"}\n");
}

TEST(TokenCliTest, RejectsBadInputBeforeCallingTheServer) {
  FakeSpireServer srv;
  auto r = RunOn(srv, TokenGenerate, {"-ttl", "2147483648"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: invalid value for TTL: value out of range\n");
  r = RunOn(srv, TokenGenerate, {"-spiffeID", "host"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: "));
  r = RunOn(srv, TokenGenerate, {"-ttl"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("flag needs an argument: -ttl\n"));
  EXPECT_TRUE(srv.agent.tokens.empty());
}

}  // namespace
}  // namespace spirecvm::cli
