#include "cli/server/cli_common.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/fake_spire_for_test.h"
#include "spire/api/server/entry/v1/entry.pb.h"

namespace spirecvm::cli {
namespace {

using ::testing::HasSubstr;
using testing::RunOn;
using testing::RunVerb;

TEST(ParseSelectorTest, SplitsAtTheFirstColonAsSpire) {
  auto s = ParseSelector("unix:uid:1000");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->type(), "unix");
  EXPECT_EQ(s->value(), "uid:1000");
  auto empty_value = ParseSelector("unix:");  // SPIRE's CLI leaves empty halves to the server
  ASSERT_TRUE(empty_value.ok());
  EXPECT_EQ(empty_value->value(), "");
  for (const char* bad : {"unix", ""}) {
    auto st = ParseSelector(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(std::string(st.status().message()),
              std::string("selector \"") + bad + "\" must be formatted as type:value");
  }
}

TEST(SpireJsonTest, IsSpiresProtojsonShape) {
  ::spire::api::server::entry::v1::ListEntriesResponse resp;
  auto* e = resp.add_entries();
  e->set_id("a<b>&c");  // Go's encoder escapes HTML characters
  e->set_revision_number(7);
  e->mutable_spiffe_id()->set_trust_domain("td");
  // Unset messages (parent_id) are left out; scalars, repeated fields and int64 (as strings) are always there.
  EXPECT_EQ(SpireJson(resp),
            R"({"entries":[{"admin":false,"created_at":"0","dns_names":[],"downstream":false,"expires_at":"0",)"
            R"("federates_with":[],"hint":"","id":"a\u003cb\u003e\u0026c","jwt_svid_ttl":0,"revision_number":"7",)"
            R"("selectors":[],"spiffe_id":{"path":"","trust_domain":"td"},"store_svid":false,"x509_svid_ttl":0}],)"
            R"("next_page_token":""})"
            "\n");
}

TEST(CliCommonTest, GoFormatsOfTimesErrorsAndQuotes) {
  EXPECT_EQ(GoTimeUtc(0), "1970-01-01 00:00:00 +0000 UTC");
  EXPECT_EQ(RpcError(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "x")),
            "rpc error: code = FailedPrecondition desc = x");
  EXPECT_EQ(CodeName(16), "Unauthenticated");
  EXPECT_EQ(GoQuote("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(*ParseMatch("subset"), 1);
  EXPECT_FALSE(ParseMatch("most").ok());
}

TEST(CliCommonTest, UnknownFlagAndStrayArgumentPrintUsage) {
  auto r = RunVerb(EntryCount, {"-nosuchflag"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("flag provided but not defined: -nosuchflag"));
  EXPECT_THAT(r.err, HasSubstr("-socketPath"));  // the usage
  r = RunVerb(EntryCount, {"stray"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("unexpected argument: stray"));
  EXPECT_TRUE(r.out.empty());
}

TEST(HealthcheckCliTest, AsksGrpcHealthAsSpire) {
  testing::FakeSpireServer srv;
  auto r = RunOn(srv, Healthcheck, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Server is healthy.\n");
  srv.SetServing(false);
  r = RunOn(srv, Healthcheck, {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: server is unhealthy: server returned status \"NOT_SERVING\"\n");
  r = RunVerb(Healthcheck, {"-socketPath", "/nonexistent-dir-for-cvm-test/api.sock", "-verbose"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "Checking server health...\n");
  EXPECT_THAT(r.err, HasSubstr("Failed to check health: rpc error: code = Unavailable"));
  EXPECT_THAT(r.err, ::testing::EndsWith("Error: server is unhealthy: unable to determine health\n"));
}

}  // namespace
}  // namespace spirecvm::cli
