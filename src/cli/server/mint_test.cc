#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/server/cli_common.h"
#include "cli/server/fake_admin_for_test.h"
#include "common/files.h"

namespace spirecvm::cli {
namespace {

using testing::FakeAdminServer;
using ::testing::HasSubstr;
using testing::RunVerb;

TEST(JwtMintCliTest, SendsAudiencesAndPrintsOrWritesTheToken) {
  FakeAdminServer srv;
  auto r = RunVerb(JwtMint, {"-socketPath", srv.socket(), "-spiffeID", "spiffe://td/w", "-audience", "a1", "-audience",
                             "a2", "-ttl", "120"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "header.payload.signature\n");
  ASSERT_EQ(srv.admin().jwt_mints.size(), 1u);
  EXPECT_THAT(srv.admin().jwt_mints[0].audience(), ::testing::ElementsAre("a1", "a2"));
  EXPECT_EQ(srv.admin().jwt_mints[0].ttl(), 120);

  r = RunVerb(JwtMint,
              {"-socketPath", srv.socket(), "-spiffeID", "spiffe://td/w", "-audience", "a", "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["svid"]["token"], "header.payload.signature");

  const std::string file = srv.dir() + "/token";
  r = RunVerb(JwtMint, {"-socketPath", srv.socket(), "-spiffeID", "spiffe://td/w", "-audience", "a", "-write", file});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "JWT-SVID written to " + file + "\n");
  EXPECT_EQ(*files::ReadFile(file), "header.payload.signature\n");
}

TEST(JwtMintCliTest, RejectsMissingInput) {
  auto r = RunVerb(JwtMint, {"-audience", "a"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: a SPIFFE ID is required (-spiffeID)\n"));
  r = RunVerb(JwtMint, {"-spiffeID", "spiffe://td/w"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: at least one audience is required (-audience)\n"));
  r = RunVerb(JwtMint, {"-spiffeID", "spiffe://td/w", "-audience", "a", "-ttl", "-1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: -ttl must be between 0 and 2147483647 seconds\n");
}

TEST(X509MintCliTest, RejectsMissingInputAndReportsServerErrors) {
  auto r = RunVerb(X509Mint, {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: a SPIFFE ID is required (-spiffeID)\n"));
  r = RunVerb(X509Mint, {"-spiffeID", "spiffe://td/w", "-ttl", "2147483648"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: -ttl must be between 0 and 2147483647 seconds\n");
  FakeAdminServer srv;  // MintX509SVID is not implemented by the fake: the server's error is printed
  r = RunVerb(X509Mint, {"-socketPath", srv.socket(), "-spiffeID", "spiffe://td/w"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace spirecvm::cli
