// spire-server entry create|update|show|delete|count against an in-process fake admin API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/server/cli_common.h"
#include "cli/server/fake_admin_for_test.h"

namespace spirecvm::cli {
namespace {

using testing::FakeAdminServer;
using ::testing::HasSubstr;
using testing::RunVerb;

class EntryCliTest : public ::testing::Test {
 protected:
  std::vector<std::string> With(std::vector<std::string> args) {
    args.insert(args.begin(), {"-socketPath", srv_.socket()});
    return args;
  }
  FakeAdminServer srv_;
};

TEST_F(EntryCliTest, CreateSendsEveryFlagAndPrintsTheEntry) {
  auto r = RunVerb(EntryCreate, With({"-spiffeID", "spiffe://example.org/w", "-parentID",
                                      "spiffe://example.org/spire/agent/x", "-selector", "unix:uid:1000", "-selector",
                                      "k8s:ns:default", "-x509SVIDTTL", "300", "-jwtSVIDTTL", "60", "-dns", "a.example",
                                      "-admin", "-hint", "h1", "-entryExpiry", "1700000000"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.admin().creates.size(), 1u);
  const types::Entry& e = srv_.admin().creates[0].entry();
  EXPECT_EQ(e.spiffe_id(), "spiffe://example.org/w");
  EXPECT_EQ(e.parent_id(), "spiffe://example.org/spire/agent/x");
  ASSERT_EQ(e.selectors_size(), 2);
  EXPECT_EQ(e.selectors(0).type(), "unix");
  EXPECT_EQ(e.selectors(0).value(), "uid:1000");
  EXPECT_EQ(e.selectors(1).type(), "k8s");
  EXPECT_EQ(e.x509_svid_ttl(), 300);
  EXPECT_EQ(e.jwt_svid_ttl(), 60);
  EXPECT_THAT(e.dns_names(), ::testing::ElementsAre("a.example"));
  EXPECT_TRUE(e.admin());
  EXPECT_EQ(e.hint(), "h1");
  EXPECT_EQ(e.expires_at(), 1700000000);
  EXPECT_EQ(r.out,
            "Entry ID         : id-1\n"
            "SPIFFE ID        : spiffe://example.org/w\n"
            "Parent ID        : spiffe://example.org/spire/agent/x\n"
            "Revision         : 0\n"
            "X509-SVID TTL    : 300\n"
            "JWT-SVID TTL     : 60\n"
            "Expiration time  : 2023-11-14T22:13:20Z\n"
            "Selector         : unix:uid:1000\n"
            "Selector         : k8s:ns:default\n"
            "DNS name         : a.example\n"
            "Admin            : true\n"
            "Hint             : h1\n"
            "\n");
}

TEST_F(EntryCliTest, NodeEntriesAreParentedToTheServer) {
  auto r = RunVerb(EntryCreate, With({"-node", "-spiffeID", "spiffe://example.org/nodes/all", "-selector", "a:b"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(srv_.admin().creates[0].entry().parent_id(), "spiffe://example.org/spire/server");
}

TEST_F(EntryCliTest, CreateJsonOutputIsTheResult) {
  auto r = RunVerb(EntryCreate, With({"-spiffeID", "spiffe://example.org/w", "-parentID", "spiffe://example.org/p",
                                      "-selector", "unix:uid:1", "-output", "json"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["entry"]["id"], "id-1");
  EXPECT_EQ(j["entry"]["spiffe_id"], "spiffe://example.org/w");
  EXPECT_EQ(j["entry"]["selectors"][0]["type"], "unix");
  EXPECT_EQ(j["entry"]["x509_svid_ttl"], 0);  // primitive fields are always printed
}

TEST_F(EntryCliTest, CreateAndUpdateRejectBadInputBeforeCallingTheServer) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-parentID", "spiffe://td/p", "-selector", "a:b"}, "Error: a SPIFFE ID is required (-spiffeID)\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p"},
       "Error: at least one selector is required (-selector type:value)\n"},
      {{"-spiffeID", "spiffe://td/w", "-selector", "a:b"},
       "Error: a parent ID is required if the node flag is not set (-parentID)\n"},
      {{"-spiffeID", "spiffe://td/w", "-node", "-parentID", "spiffe://td/p", "-selector", "a:b"},
       "Error: -node and -parentID are mutually exclusive\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "nocolon"},
       "Error: selector \"nocolon\" must be formatted as type:value\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "unix:"},
       "Error: selector \"unix:\" must be formatted as type:value\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-x509SVIDTTL", "-1"},
       "Error: -x509SVIDTTL and -jwtSVIDTTL must be between 0 and 2147483647 seconds\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-output", "xml"},
       "invalid -output value \"xml\": want pretty or json\n"},
  };
  for (const auto& [args, want] : cases) {
    auto create = RunVerb(EntryCreate, With(args));
    EXPECT_EQ(create.rc, 1);
    EXPECT_EQ(create.err, want);
    std::vector<std::string> update_args = args;
    update_args.insert(update_args.end(), {"-entryID", "id-9"});
    auto update = RunVerb(EntryUpdate, With(update_args));
    EXPECT_EQ(update.rc, 1);
    EXPECT_EQ(update.err, want);
  }
  EXPECT_TRUE(srv_.admin().creates.empty());
  EXPECT_TRUE(srv_.admin().updates.empty());
}

TEST_F(EntryCliTest, UpdateNeedsTheEntryIdAndSendsIt) {
  auto r = RunVerb(EntryUpdate, With({"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"}));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: -entryID is required\n");
  r = RunVerb(EntryUpdate, With({"-entryID", "id-7", "-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p",
                                 "-selector", "a:b"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.admin().updates.size(), 1u);
  EXPECT_EQ(srv_.admin().updates[0].entry().id(), "id-7");
  EXPECT_THAT(r.out, HasSubstr("Entry ID         : id-7\n"));
  EXPECT_THAT(r.out, HasSubstr("Revision         : 1\n"));
}

TEST_F(EntryCliTest, ShowFiltersAndCountsEntries) {
  ASSERT_EQ(
      RunVerb(EntryCreate, With({"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"})).rc,
      0);
  auto r = RunVerb(EntryShow, With({"-spiffeID", "spiffe://td/w", "-selector", "a:b", "-matchSelectorsOn", "exact"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.admin().lists.size(), 1u);
  const auto& req = srv_.admin().lists[0];
  EXPECT_EQ(req.by_spiffe_id(), "spiffe://td/w");
  ASSERT_EQ(req.by_selectors_size(), 1);
  EXPECT_EQ(req.by_selectors(0).type(), "a");
  EXPECT_FALSE(req.selectors_superset());
  EXPECT_THAT(r.out, ::testing::StartsWith("Found 1 entry\nEntry ID         : id-1\n"));

  r = RunVerb(EntryShow, With({"-entryID", "id-1", "-output", "json"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["entries"][0]["id"], "id-1");

  r = RunVerb(EntryShow, With({"-entryID", "missing"}));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: registration entry missing not found\n");

  r = RunVerb(EntryShow, With({"-matchSelectorsOn", "any"}));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: -matchSelectorsOn must be exact or superset\n");
  r = RunVerb(EntryShow, With({"-selector", "nocolon"}));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: selector \"nocolon\" must be formatted as type:value\n");

  r = RunVerb(EntryCount, With({}));
  EXPECT_EQ(r.out, "1 registration entry\n");
  r = RunVerb(EntryCount, With({"-output", "json"}));
  EXPECT_EQ(nlohmann::json::parse(r.out)["count"], "1");  // int64 is a JSON string in proto3 JSON
}

TEST_F(EntryCliTest, DeleteNeedsAnIdAndReportsIt) {
  auto r = RunVerb(EntryDelete, With({}));
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: -entryID is required\n"));
  r = RunVerb(EntryDelete, With({"-entryID", "id-3"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Deleted entry with ID: id-3\n");
  EXPECT_THAT(srv_.admin().deleted, ::testing::ElementsAre("id-3"));
}

}  // namespace
}  // namespace spirecvm::cli
