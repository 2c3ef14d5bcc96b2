#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/server/cli_common.h"
#include "cli/server/fake_admin_for_test.h"

namespace spirecvm::cli {
namespace {

using testing::FakeAdminServer;
using testing::RunVerb;

TEST(TokenCliTest, GenerateSendsTtlAndAgentIdAndPrintsTheToken) {
  FakeAdminServer srv;
  auto r = RunVerb(TokenGenerate, {"-socketPath", srv.socket(), "-ttl", "90", "-spiffeID", "spiffe://td/host"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Token: 11111111-2222-4333-8444-555555555555\n");
  ASSERT_EQ(srv.admin().tokens.size(), 1u);
  EXPECT_EQ(srv.admin().tokens[0].ttl(), 90);
  EXPECT_EQ(srv.admin().tokens[0].agent_id(), "spiffe://td/host");

  r = RunVerb(TokenGenerate, {"-socketPath", srv.socket(), "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["token"], "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(srv.admin().tokens[1].ttl(), 600);  // the default
}

TEST(TokenCliTest, RejectsNonPositiveTtl) {
  for (const char* ttl : {"0", "-5", "2147483648"}) {
    auto r = RunVerb(TokenGenerate, {"-socketPath", "/nonexistent/api.sock", "-ttl", ttl});
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "Error: -ttl must be a positive number of seconds\n") << ttl;
  }
}

}  // namespace
}  // namespace spirecvm::cli
