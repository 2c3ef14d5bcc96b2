#include "server/api/spire_agent/entry_service.h"

#include <algorithm>
#include <deque>
#include <set>

#include "server/api/spire_agent/test_fixture.h"

namespace spirecvm::server::spireagent {
namespace {

// The agent's side of SyncAuthorizedEntries: scripted requests, recorded responses.
class FakeSync final : public EntrySyncStream {
 public:
  std::deque<entryv1::SyncAuthorizedEntriesRequest> in;
  std::vector<entryv1::SyncAuthorizedEntriesResponse> out;
  bool Read(entryv1::SyncAuthorizedEntriesRequest* req) override {
    if (in.empty()) return false;
    *req = in.front();
    in.pop_front();
    return true;
  }
  bool Write(const entryv1::SyncAuthorizedEntriesResponse& resp) override {
    out.push_back(resp);
    return true;
  }
};

// What SPIRE v1.13's agent asks for first (its entryOutputMask): no parent ID, TTLs or DNS names.
entryv1::SyncAuthorizedEntriesRequest AgentMask() {
  entryv1::SyncAuthorizedEntriesRequest r;
  auto* m = r.mutable_output_mask();
  m->set_spiffe_id(true);
  m->set_selectors(true);
  m->set_revision_number(true);
  m->set_created_at(true);
  return r;
}

entryv1::SyncAuthorizedEntriesRequest Ids(std::initializer_list<std::string> ids) {
  entryv1::SyncAuthorizedEntriesRequest r;
  for (const auto& id : ids) r.add_ids(id);
  return r;
}

class EntrySyncTest : public SpireAgentApiTest {
 protected:
  // n entries parented by the agent, sorted by ID as the service passes them.
  std::vector<EntryPtr> Entries(int n) {
    std::vector<EntryPtr> v;
    for (int i = 0; i < n; i++) {
      auto e = AddEntry("/w" + std::to_string(i), "spiffe://example.org/spire/agent/x/1");
      e.revision_number = i;
      v.push_back(MakeCachedEntry(e));
    }
    std::sort(v.begin(), v.end(), [](const EntryPtr& a, const EntryPtr& b) { return a->id < b->id; });
    return v;
  }
};

TEST_F(EntrySyncTest, AtMostAPageSendsEveryEntryOnceMasked) {
  auto entries = Entries(3);
  FakeSync s;
  s.in.push_back(AgentMask());
  ASSERT_TRUE(RunEntrySync(entries, 3, s).ok());
  ASSERT_EQ(s.out.size(), 1u);
  ASSERT_EQ(s.out[0].entries_size(), 3);
  EXPECT_EQ(s.out[0].entry_revisions_size(), 0);
  const auto& e = s.out[0].entries(0);
  EXPECT_EQ(e.id(), entries[0]->id);
  EXPECT_EQ(e.spiffe_id().path(), entries[0]->spiffe_id.substr(std::string("spiffe://example.org").size()));
  EXPECT_EQ(e.selectors_size(), 1);
  EXPECT_FALSE(e.has_parent_id());  // masked out
}

TEST_F(EntrySyncTest, MoreThanAPageSendsRevisionsThenTheRequestedEntriesInPages) {
  auto entries = Entries(5);
  FakeSync s;
  s.in.push_back(AgentMask());
  // The agent wants three of them (one ID it asks for does not exist), in pages of 2.
  s.in.push_back(Ids({entries[4]->id, "no-such-entry", entries[0]->id, entries[2]->id}));
  ASSERT_TRUE(RunEntrySync(entries, 2, s).ok());
  ASSERT_EQ(s.out.size(), 5u);  // revisions 2+2+1, then entries 2+1
  EXPECT_TRUE(s.out[0].more());
  EXPECT_TRUE(s.out[1].more());
  EXPECT_FALSE(s.out[2].more());
  EXPECT_EQ(s.out[0].entry_revisions(0).id(), entries[0]->id);
  EXPECT_EQ(s.out[2].entry_revisions(0).id(), entries[4]->id);
  EXPECT_EQ(s.out[2].entry_revisions(0).revision_number(), entries[4]->revision_number);
  EXPECT_EQ(s.out[2].entry_revisions(0).created_at(), entries[4]->created_at);
  EXPECT_EQ(s.out[0].entries_size(), 0);
  EXPECT_TRUE(s.out[3].more());
  ASSERT_EQ(s.out[3].entries_size(), 2);
  EXPECT_FALSE(s.out[4].more());
  ASSERT_EQ(s.out[4].entries_size(), 1);
  std::set<std::string> got = {s.out[3].entries(0).id(), s.out[3].entries(1).id(), s.out[4].entries(0).id()};
  EXPECT_EQ(got, (std::set<std::string>{entries[0]->id, entries[2]->id, entries[4]->id}));
}

TEST_F(EntrySyncTest, FirstRequestRulesAsSpires) {
  auto entries = Entries(1);
  FakeSync with_ids;
  with_ids.in.push_back(Ids({entries[0]->id}));
  EXPECT_EQ(RunEntrySync(entries, 10, with_ids).code(), absl::StatusCode::kInvalidArgument);

  FakeSync masked_revision;
  auto r = AgentMask();
  r.mutable_output_mask()->set_revision_number(false);
  masked_revision.in.push_back(r);
  auto st = RunEntrySync(entries, 10, masked_revision);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("revision number"), std::string::npos) << st;

  FakeSync no_mask;  // every field
  no_mask.in.push_back(entryv1::SyncAuthorizedEntriesRequest());
  ASSERT_TRUE(RunEntrySync(entries, 10, no_mask).ok());
  EXPECT_TRUE(no_mask.out.at(0).entries(0).has_parent_id());
  EXPECT_EQ(no_mask.out.at(0).entries(0).parent_id().trust_domain(), "example.org");
  EXPECT_EQ(no_mask.out.at(0).entries(0).parent_id().path(), "/spire/agent/x/1");
}

TEST_F(EntrySyncTest, AdminMethodsArePermissionDeniedOnTheAgentEndpoint) {
  EntryService svc(Deps());
  entryv1::BatchCreateEntryResponse resp;
  EXPECT_EQ(CallUnary([&](auto* ctx) { return svc.BatchCreateEntry(ctx, nullptr, &resp); }).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// The agent learns which trust domains an entry federates with (and store_svid) from the sync, as SPIRE's agent.
TEST_F(EntrySyncTest, SyncCarriesFederatesWithAndStoreSvid) {
  datastore::BundleRecord fed;
  fed.trust_domain = "other.org";
  ASSERT_TRUE(ds_->CreateBundle(fed).ok());
  datastore::RegistrationEntry e;
  e.spiffe_id = "spiffe://example.org/fed";
  e.parent_id = "spiffe://example.org/spire/agent/x/1";
  e.selectors = {{"unix", "uid:1"}};
  e.federates_with = {"other.org"};
  e.store_svid = true;
  auto made = ds_->CreateEntry(e);
  ASSERT_TRUE(made.ok()) << made.status();
  FakeSync sync;
  auto first = AgentMask();
  first.mutable_output_mask()->set_federates_with(true);
  first.mutable_output_mask()->set_store_svid(true);
  sync.in.push_back(first);
  ASSERT_TRUE(RunEntrySync({MakeCachedEntry(*made)}, 10, sync).ok());
  ASSERT_EQ(sync.out.size(), 1u);
  ASSERT_EQ(sync.out[0].entries_size(), 1);
  const auto& got = sync.out[0].entries(0);
  ASSERT_EQ(got.federates_with_size(), 1);
  EXPECT_EQ(got.federates_with(0), "other.org");
  EXPECT_TRUE(got.store_svid());
}

}  // namespace
}  // namespace spirecvm::server::spireagent
