// The agent's side of SPIRE's SyncAuthorizedEntries against scripted server answers: the small-set answer, the
// revisions-then-request exchange (what it asks for and how it pages), removal, staleness by creation time, and
// protocol violations.
#include "agent/manager/entry_sync.h"

#include <gtest/gtest.h>

#include <deque>

namespace spirecvm::agent {
namespace {

using entryv1::SyncAuthorizedEntriesRequest;
using entryv1::SyncAuthorizedEntriesResponse;

class ScriptedSync : public EntrySyncStream {
 public:
  bool Write(const SyncAuthorizedEntriesRequest& req) override {
    written.push_back(req);
    return true;
  }
  bool Read(SyncAuthorizedEntriesResponse* resp) override {
    if (script.empty()) return false;
    *resp = script.front();
    script.pop_front();
    return true;
  }
  absl::Status Finish() override {
    ++finished;
    return final_status;
  }
  std::deque<SyncAuthorizedEntriesResponse> script;
  std::vector<SyncAuthorizedEntriesRequest> written;
  absl::Status final_status;
  int finished = 0;
};

void AddEntry(SyncAuthorizedEntriesResponse& r, const std::string& id, int64_t rev, int64_t created = 100) {
  auto* e = r.add_entries();
  e->set_id(id);
  e->mutable_spiffe_id()->set_trust_domain("example.org");
  e->mutable_spiffe_id()->set_path("/w/" + id);
  auto* s = e->add_selectors();
  s->set_type("unix");
  s->set_value("uid:1000");
  e->set_revision_number(rev);
  e->set_created_at(created);
}

void AddRevision(SyncAuthorizedEntriesResponse& r, const std::string& id, int64_t rev, int64_t created = 100) {
  auto* x = r.add_entry_revisions();
  x->set_id(id);
  x->set_revision_number(rev);
  x->set_created_at(created);
}

std::vector<std::string> Ids(const EntrySyncResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.changed) out.push_back(e.id());
  return out;
}

TEST(EntrySyncTest, SmallSetInOneAnswer) {
  ScriptedSync s;
  SyncAuthorizedEntriesResponse all;
  AddEntry(all, "a", 1);
  AddEntry(all, "b", 2);
  s.script.push_back(all);
  auto r = SyncEntriesOverStream(s, {{"b", 2, 100}, {"gone", 1, 100}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(s.written.size(), 1u);
  EXPECT_TRUE(s.written[0].output_mask().revision_number());
  EXPECT_TRUE(s.written[0].output_mask().created_at());
  EXPECT_TRUE(s.written[0].output_mask().selectors());
  EXPECT_TRUE(s.written[0].ids().empty());
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->changed[0].spiffe_id(), "spiffe://example.org/w/a");
  EXPECT_EQ(r->changed[0].selectors(0).value(), "uid:1000");
  EXPECT_EQ(r->removed, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(s.finished, 1);
}

TEST(EntrySyncTest, RevisionsThenOnlyMissingAndStaleInPages) {
  ScriptedSync s;
  SyncAuthorizedEntriesResponse p1, p2, full1, full2;
  AddRevision(p1, "a", 1);
  AddRevision(p1, "b", 1);
  p1.set_more(true);
  AddRevision(p2, "c", 3);
  AddRevision(p2, "d", 1, /*created=*/200);  // same revision, but created again
  AddEntry(full1, "a", 1);
  AddEntry(full1, "c", 3);
  AddEntry(full2, "d", 1, 200);
  s.script = {p1, p2, full1, full2};
  // Known: b current, c at an old revision, d created at 100, x no longer listed. a is new.
  auto r = SyncEntriesOverStream(s, {{"b", 1, 100}, {"c", 2, 100}, {"d", 1, 100}, {"x", 1, 100}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(s.written.size(), 3u);  // the mask, then two pages of the first page's size (2)
  EXPECT_EQ(std::vector<std::string>(s.written[1].ids().begin(), s.written[1].ids().end()),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(std::vector<std::string>(s.written[2].ids().begin(), s.written[2].ids().end()),
            (std::vector<std::string>{"d"}));
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(r->removed, (std::vector<std::string>{"x"}));
}

TEST(EntrySyncTest, NothingToAskWhenCurrent) {
  ScriptedSync s;
  SyncAuthorizedEntriesResponse p1;
  AddRevision(p1, "a", 1);
  s.script = {p1};
  auto r = SyncEntriesOverStream(s, {{"a", 1, 100}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(s.written.size(), 1u);
  EXPECT_TRUE(r->changed.empty());
  EXPECT_TRUE(r->removed.empty());
}

TEST(EntrySyncTest, ServerErrorKeepsCode) {
  ScriptedSync s;
  s.final_status = absl::PermissionDeniedError("agent is banned");
  auto r = SyncEntriesOverStream(s, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
}

TEST(EntrySyncTest, EntriesAmongRevisionsIsAProtocolError) {
  ScriptedSync s;
  SyncAuthorizedEntriesResponse p1, p2;
  AddRevision(p1, "a", 1);
  p1.set_more(true);
  AddEntry(p2, "a", 1);
  s.script = {p1, p2};
  EXPECT_FALSE(SyncEntriesOverStream(s, {}).ok());
}

TEST(EntrySyncTest, MalformedEntryIsSkippedNotRemoved) {
  ScriptedSync s;
  SyncAuthorizedEntriesResponse all;
  AddEntry(all, "a", 1);
  all.mutable_entries(0)->mutable_spiffe_id()->clear_trust_domain();
  s.script = {all};
  auto r = SyncEntriesOverStream(s, {{"a", 1, 100}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->changed.empty());
  EXPECT_TRUE(r->removed.empty());
}

TEST(EntryFromSpireTest, RefusesEntriesWithoutSelectors) {
  ::spire::api::types::Entry e;
  e.set_id("a");
  e.mutable_spiffe_id()->set_trust_domain("example.org");
  e.mutable_spiffe_id()->set_path("/w");
  auto r = EntryFromSpire(e);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("selectors"), absl::string_view::npos);
}

}  // namespace
}  // namespace spirecvm::agent
