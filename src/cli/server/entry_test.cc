// spire-server entry create|update|show|delete|count against in-process fakes of SPIRE's entry API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"
#include "common/files.h"

namespace spirecvm::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeSpireServer;
using ::testing::HasSubstr;
using testing::RunOn;
using testing::RunVerb;

class EntryCliTest : public ::testing::Test {
 protected:
  testing::CliResult Run(const CommandFn& fn, std::vector<std::string> args) { return RunOn(srv_, fn, args); }
  FakeSpireServer srv_;
};

TEST_F(EntryCliTest, CreateSendsEveryFlagAndPrintsTheEntryAsSpire) {
  auto r = Run(EntryCreate, {"-spiffeID",
                             "spiffe://example.org/w",
                             "-parentID",
                             "spiffe://example.org/spire/agent/x",
                             "-selector",
                             "unix:uid:1000",
                             "-selector",
                             "k8s:ns:default",
                             "-x509SVIDTTL",
                             "300",
                             "-jwtSVIDTTL",
                             "60",
                             "-dns",
                             "a.example",
                             "-admin",
                             "-downstream",
                             "-storeSVID",
                             "-hint",
                             "h1",
                             "-entryExpiry",
                             "1700000000",
                             "-federatesWith",
                             "spiffe://other.org"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.entry.creates.size(), 1u);
  ASSERT_EQ(srv_.entry.creates[0].entries_size(), 1);
  const stypes::Entry& e = srv_.entry.creates[0].entries(0);
  EXPECT_EQ(e.spiffe_id().trust_domain(), "example.org");
  EXPECT_EQ(e.spiffe_id().path(), "/w");
  EXPECT_EQ(IdString(e.parent_id()), "spiffe://example.org/spire/agent/x");
  ASSERT_EQ(e.selectors_size(), 2);
  EXPECT_EQ(e.selectors(0).type(), "unix");
  EXPECT_EQ(e.selectors(0).value(), "uid:1000");
  EXPECT_EQ(e.x509_svid_ttl(), 300);
  EXPECT_EQ(e.jwt_svid_ttl(), 60);
  EXPECT_THAT(e.dns_names(), ElementsAre("a.example"));
  EXPECT_THAT(e.federates_with(), ElementsAre("spiffe://other.org"));
  EXPECT_TRUE(e.admin());
  EXPECT_TRUE(e.downstream());
  EXPECT_TRUE(e.store_svid());
  EXPECT_EQ(e.hint(), "h1");
  EXPECT_EQ(e.expires_at(), 1700000000);
  EXPECT_EQ(r.out,
            "Entry ID         : id-1\n"
            "SPIFFE ID        : spiffe://example.org/w\n"
            "Parent ID        : spiffe://example.org/spire/agent/x\n"
            "Revision         : 0\n"
            "Downstream       : true\n"
            "X509-SVID TTL    : 300\n"
            "JWT-SVID TTL     : 60\n"
            "Expiration time  : 2023-11-14 22:13:20 +0000 UTC\n"
            "Selector         : unix:uid:1000\n"
            "Selector         : k8s:ns:default\n"
            "FederatesWith    : spiffe://other.org\n"
            "DNS name         : a.example\n"
            "Admin            : true\n"
            "StoreSvid        : true\n"
            "Hint             : h1\n"
            "\n");
}

TEST_F(EntryCliTest, NodeEntriesAreParentedToTheServer) {
  auto r = Run(EntryCreate, {"-node", "-spiffeID", "spiffe://example.org/nodes/all", "-selector", "a:b"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(IdString(srv_.entry.creates[0].entries(0).parent_id()), "spiffe://example.org/spire/server");
}

TEST_F(EntryCliTest, CreateJsonIsSpiresProtojsonOfTheResponse) {
  auto r = Run(EntryCreate,
               {"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, R"({"results":[{"entry":{"admin":false,"created_at":"0","dns_names":[],"downstream":false,)"
                   R"("expires_at":"0","federates_with":[],"hint":"","id":"id-1","jwt_svid_ttl":0,)"
                   R"("parent_id":{"path":"/p","trust_domain":"td"},"revision_number":"0",)"
                   R"("selectors":[{"type":"a","value":"b"}],"spiffe_id":{"path":"/w","trust_domain":"td"},)"
                   R"("store_svid":false,"x509_svid_ttl":0},"status":{"code":0,"message":""}}]})"
                   "\n");
}

TEST_F(EntryCliTest, AFailedResultShowsTheSentEntryOnStderrAndFails) {
  auto r = Run(EntryCreate, {"-spiffeID", "spiffe://td/dup", "-parentID", "spiffe://td/p", "-selector", "a:b"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, ::testing::StartsWith("Failed to create the following entry (code: AlreadyExists, msg: "
                                           "\"similar entry already exists\"):\nEntry ID         : (none)\n"
                                           "SPIFFE ID        : spiffe://td/dup\n"));
  EXPECT_THAT(r.err, ::testing::EndsWith("\nError: failed to create one or more entries\n"));
}

TEST_F(EntryCliTest, CreateAndUpdateRejectBadInputBeforeCallingTheServer) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-parentID", "spiffe://td/p", "-selector", "a:b"}, "Error: a SPIFFE ID is required\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p"}, "Error: at least one selector is required\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "nocolon"},
       "Error: selector \"nocolon\" must be formatted as type:value\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-x509SVIDTTL", "-1"},
       "Error: a positive x509-SVID TTL is required\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-jwtSVIDTTL", "-1"},
       "Error: a positive JWT-SVID TTL is required\n"},
      {{"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-x509SVIDTTL", "2147483648"},
       "Error: invalid value for X509 SVID TTL: value out of range\n"},
  };
  for (const auto& [args, want] : cases) {
    auto create = Run(EntryCreate, args);
    EXPECT_EQ(create.rc, 1);
    EXPECT_EQ(create.err, want);
    std::vector<std::string> update_args = args;
    update_args.insert(update_args.end(), {"-entryID", "id-9"});
    auto update = Run(EntryUpdate, update_args);
    EXPECT_EQ(update.rc, 1);
    EXPECT_EQ(update.err, want);
  }
  auto r = Run(EntryCreate, {"-spiffeID", "spiffe://td/w", "-selector", "a:b"});
  EXPECT_EQ(r.err, "Error: a parent ID is required if the node flag is not set\n");
  r = Run(EntryCreate, {"-spiffeID", "spiffe://td/w", "-node", "-selector", "a:b", "-federatesWith", "x.org"});
  EXPECT_EQ(r.err, "Error: node entries can not federate\n");
  r = Run(EntryCreate, {"-spiffeID", "http://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("scheme"));
  r = Run(EntryCreate,
          {"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-output", "xml"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("invalid value \"xml\" for flag -output: bad formatter flag: unknown "
                                           "format option: \"xml\"\n"));
  EXPECT_TRUE(srv_.entry.creates.empty());
  EXPECT_TRUE(srv_.entry.updates.empty());
}

TEST_F(EntryCliTest, UpdateNeedsTheEntryIdAndSendsIt) {
  auto r = Run(EntryUpdate, {"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: entry ID is required\n");
  ASSERT_EQ(Run(EntryCreate,
                {"-entryID", "id-7", "-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"})
                .rc,
            0);
  r = Run(EntryUpdate, {"-entryID", "id-7", "-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector",
                        "c:d", "-storeSVID"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.entry.updates.size(), 1u);
  EXPECT_EQ(srv_.entry.updates[0].entries(0).id(), "id-7");
  EXPECT_TRUE(srv_.entry.updates[0].entries(0).store_svid());
  EXPECT_THAT(r.out, HasSubstr("Entry ID         : id-7\n"));
  EXPECT_THAT(r.out, HasSubstr("Revision         : 1\n"));
  r = Run(EntryUpdate,
          {"-entryID", "nope", "-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "c:d"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith(
                         "Failed to update the following entry (code: NotFound, msg: \"entry not found\"):\n"));
}

TEST_F(EntryCliTest, DataFileCreatesEveryEntry) {
  const std::string file = srv_.dir() + "/entries.json";
  ASSERT_TRUE(files::WriteFileAtomic(file, R"({"entries": [
      {"selectors": [{"type": "unix", "value": "uid:1"}], "spiffe_id": "spiffe://td/a", "parent_id": "spiffe://td/p",
       "x509_svid_ttl": 200, "dns_names": ["a.td"], "hint": "ha", "entryExpiry": 1700000000, "admin": true},
      {"selectors": [{"type": "unix", "value": "uid:2"}], "spiffe_id": "spiffe://td/b", "parent_id": "spiffe://td/p",
       "federates_with": ["spiffe://other.org"], "store_svid": true, "entry_id": "custom"}]})",
                                     0600)
                  .ok());
  auto r = Run(EntryCreate, {"-data", file});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.entry.creates[0].entries_size(), 2);
  const auto& a = srv_.entry.creates[0].entries(0);
  EXPECT_EQ(IdString(a.spiffe_id()), "spiffe://td/a");
  EXPECT_EQ(a.x509_svid_ttl(), 200);
  EXPECT_EQ(a.expires_at(), 1700000000);
  EXPECT_TRUE(a.admin());
  EXPECT_EQ(a.hint(), "ha");
  const auto& b = srv_.entry.creates[0].entries(1);
  EXPECT_EQ(b.id(), "custom");
  EXPECT_THAT(b.federates_with(), ElementsAre("other.org"));
  EXPECT_TRUE(b.store_svid());

  ASSERT_TRUE(
      files::WriteFileAtomic(file, R"({"entries": [{"spiffe_id": "nope", "parent_id": "spiffe://td/p"}]})", 0600).ok());
  r = Run(EntryCreate, {"-data", file});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: invalid SPIFFE ID: "));
  EXPECT_EQ(srv_.entry.creates.size(), 1u);
}

TEST_F(EntryCliTest, ShowSendsSpiresFilterFollowsPagesAndSorts) {
  for (const char* w : {"c", "a", "b"}) {
    ASSERT_EQ(Run(EntryCreate, {"-spiffeID", std::string("spiffe://td/") + w, "-parentID", "spiffe://td/p", "-selector",
                                "z:1", "-selector", "a:1"})
                  .rc,
              0);
  }
  auto r = Run(EntryShow,
               {"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b", "-matchSelectorsOn",
                "any", "-federatesWith", "spiffe://o.org", "-matchFederatesWithOn", "exact", "-hint", "h"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.entry.lists.size(), 2u) << "three entries at two per page";
  const auto& req = srv_.entry.lists[0];
  EXPECT_EQ(req.page_size(), 500);
  EXPECT_EQ(srv_.entry.lists[1].page_token(), "2");
  const auto& f = req.filter();
  EXPECT_EQ(IdString(f.by_spiffe_id()), "spiffe://td/w");
  EXPECT_EQ(IdString(f.by_parent_id()), "spiffe://td/p");
  EXPECT_EQ(f.by_selectors().match(), stypes::SelectorMatch::MATCH_ANY);
  EXPECT_EQ(f.by_selectors().selectors(0).type(), "a");
  EXPECT_EQ(f.by_federates_with().match(), stypes::FederatesWithMatch::MATCH_EXACT);
  EXPECT_THAT(f.by_federates_with().trust_domains(), ElementsAre("spiffe://o.org"));
  EXPECT_EQ(f.by_hint().value(), "h");
  ASSERT_TRUE(f.has_by_downstream()) << "SPIRE always filters on downstream";
  EXPECT_FALSE(f.by_downstream().value());
  // Sorted by SPIFFE ID, selectors sorted within each entry.
  EXPECT_THAT(r.out, ::testing::StartsWith("Found 3 entries\nEntry ID         : id-2\nSPIFFE ID        : "
                                           "spiffe://td/a\n"));
  EXPECT_THAT(r.out, HasSubstr("Selector         : a:1\nSelector         : z:1\n"));

  r = Run(EntryShow, {"-entryID", "id-1", "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, R"({"entries":[{"admin":false,"created_at":"0","dns_names":[],"downstream":false,"expires_at":"0",)"
                   R"("federates_with":[],"hint":"","id":"id-1","jwt_svid_ttl":0,"parent_id":{"path":"/p",)"
                   R"("trust_domain":"td"},"revision_number":"0","selectors":[{"type":"a","value":"1"},)"
                   R"({"type":"z","value":"1"}],"spiffe_id":{"path":"/c","trust_domain":"td"},"store_svid":false,)"
                   R"("x509_svid_ttl":0}],"next_page_token":""})"
                   "\n");

  r = Run(EntryShow, {"-entryID", "missing"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: error fetching entry ID missing: rpc error: code = NotFound desc = entry not found\n");
  r = Run(EntryShow, {"-entryID", "id-1", "-spiffeID", "spiffe://td/a"});
  EXPECT_EQ(r.err, "Error: the -entryID flag can't be combined with others\n");
  r = Run(EntryShow, {"-selector", "a:b", "-matchSelectorsOn", "most"});
  EXPECT_EQ(r.err, "Error: match behavior \"most\" unknown\n");
  r = Run(EntryShow, {"-selector", "nocolon"});
  EXPECT_EQ(r.err, "Error: error parsing selectors: selector \"nocolon\" must be formatted as type:value\n");
}

TEST_F(EntryCliTest, CountSendsTheFilterAndPrintsAsSpire) {
  auto r = Run(EntryCount, {"-downstream", "-selector", "a:b"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "0 registration entries\n");
  ASSERT_EQ(srv_.entry.counts.size(), 1u);
  EXPECT_TRUE(srv_.entry.counts[0].filter().by_downstream().value());
  EXPECT_EQ(srv_.entry.counts[0].filter().by_selectors().match(), stypes::SelectorMatch::MATCH_SUPERSET);
  ASSERT_EQ(Run(EntryCreate, {"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"}).rc, 0);
  EXPECT_EQ(Run(EntryCount, {}).out, "1 registration entry\n");
  EXPECT_EQ(Run(EntryCount, {"-output", "json"}).out, "{\"count\":1}\n");
}

TEST_F(EntryCliTest, DeletePrintsAsSpire) {
  auto r = Run(EntryDelete, {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: an entry ID is required\n");
  ASSERT_EQ(Run(EntryCreate, {"-spiffeID", "spiffe://td/w", "-parentID", "spiffe://td/p", "-selector", "a:b"}).rc, 0);
  r = Run(EntryDelete, {"-entryID", "id-1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Deleted entry with ID: id-1\n\n\nDeleted 1 entries successfully");
  EXPECT_THAT(srv_.entry.deleted, ElementsAre("id-1"));
  r = Run(EntryDelete, {"-entryID", "id-1", "-output", "json"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, R"({"results":[{"id":"id-1","status":{"code":5,"message":"entry not found"}}]})"
                   "\n");
  r = Run(EntryDelete, {"-entryID", "id-1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "Failed to delete entry with ID id-1 (code: NotFound, msg: \"entry not found\")\n"
            "Error: failed to delete one or more entries\n");
  EXPECT_EQ(r.out, "\n\nFailed to delete 1 entries");
}

TEST_F(EntryCliTest, ServerErrorsArePrintedAsGoGrpcDoes) {
  srv_.entry.fail_with = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not an admin");
  auto r = Run(EntryCount, {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: rpc error: code = PermissionDenied desc = not an admin\n");
  r = RunVerb(EntryCount, {"-socketPath", "/nonexistent-dir-for-cvm-test/api.sock"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("Error: rpc error: code = Unavailable desc = "));
}

}  // namespace
}  // namespace spirecvm::cli
