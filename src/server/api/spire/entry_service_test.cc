// SPIRE's Entry service called directly (no transport), on a real in-memory DataStore.
#include "server/api/spire/entry_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/spire/test_fixture.h"

namespace spirecvm::server::spireapi {
namespace {

using ::testing::HasSubstr;
constexpr char kAgentPath[] = "/spire/agent/join_token/t1";

class EntryServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    svc_ = std::make_unique<EntryService>(EntryServiceDeps{.trust_domain = td_, .ds = *ds_, .entries = *entries_});
  }
  entryv1::BatchCreateEntryResponse Create(std::vector<sapi::Entry> entries) {
    entryv1::BatchCreateEntryRequest req;
    for (auto& e : entries) *req.add_entries() = e;
    entryv1::BatchCreateEntryResponse resp;
    EXPECT_TRUE(svc_->BatchCreateEntry(nullptr, &req, &resp).ok());
    return resp;
  }
  std::string CreateOk(const sapi::Entry& e) {
    auto resp = Create({e});
    EXPECT_EQ(resp.results(0).status().code(), 0) << resp.results(0).status().message();
    return resp.results(0).entry().id();
  }
  std::vector<std::string> ListIds(const entryv1::ListEntriesRequest& req, std::string* next = nullptr) {
    entryv1::ListEntriesResponse resp;
    EXPECT_TRUE(svc_->ListEntries(nullptr, &req, &resp).ok());
    std::vector<std::string> out;
    for (auto& e : resp.entries()) out.push_back(e.spiffe_id().path());
    if (next) *next = resp.next_page_token();
    return out;
  }
  std::unique_ptr<EntryService> svc_;
};

TEST_F(EntryServiceTest, BatchCreateAnswersPerItemAndKeepsEveryField) {
  auto good = WireEntry("/web", kAgentPath, {{"unix", "uid:1000"}});
  good.set_x509_svid_ttl(120);
  good.set_jwt_svid_ttl(60);
  good.add_dns_names("web.example.org");
  good.set_hint("web-hint");
  good.set_downstream(true);
  auto fed = WireEntry("/fed", kAgentPath, {{"unix", "uid:1"}});
  fed.add_federates_with("other.org");
  auto bad_td = WireEntry("/x", kAgentPath, {{"unix", "uid:1"}});
  bad_td.mutable_spiffe_id()->set_trust_domain("other.org");
  auto resp = Create({good, fed, bad_td, good});
  ASSERT_EQ(resp.results_size(), 4);
  EXPECT_EQ(resp.results(0).status().code(), 0);
  const auto& e = resp.results(0).entry();
  EXPECT_FALSE(e.id().empty());
  EXPECT_EQ(e.spiffe_id().path(), "/web");
  EXPECT_EQ(e.x509_svid_ttl(), 120);
  EXPECT_EQ(e.jwt_svid_ttl(), 60);
  EXPECT_EQ(e.dns_names(0), "web.example.org");
  EXPECT_EQ(e.hint(), "web-hint");
  EXPECT_TRUE(e.downstream());
  EXPECT_EQ(e.created_at(), 1'800'000'000);
  // Federating with a trust domain without a stored bundle fails, with SPIRE's words.
  EXPECT_EQ(resp.results(1).status().code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(resp.results(1).status().message(),
            "failed to create entry: unable to find federated bundle \"spiffe://other.org\"");
  EXPECT_FALSE(resp.results(1).has_entry());
  EXPECT_EQ(resp.results(2).status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(resp.results(2).status().message(), HasSubstr("not in trust domain example.org"));
  // The duplicate: AlreadyExists with the existing entry, as SPIRE.
  EXPECT_EQ(resp.results(3).status().code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(resp.results(3).status().message(), "similar entry already exists");
  EXPECT_EQ(resp.results(3).entry().id(), e.id());
  // The entry cache sees it at once.
  EXPECT_EQ(entries_->size(), 1u);
}

TEST_F(EntryServiceTest, ListFiltersPaginationAndMask) {
  CreateOk(WireEntry("/a", kAgentPath, {{"unix", "uid:1"}, {"unix", "gid:1"}}));
  CreateOk(WireEntry("/b", kAgentPath, {{"unix", "uid:1"}}));
  auto c = WireEntry("/c", "/other-parent", {{"k8s", "ns:x"}});
  c.set_hint("hc");
  CreateOk(c);
  entryv1::ListEntriesRequest req;
  EXPECT_EQ(ListIds(req).size(), 3u);
  *req.mutable_filter()->mutable_by_parent_id() = Id("example.org", kAgentPath);
  EXPECT_THAT(ListIds(req), ::testing::UnorderedElementsAre("/a", "/b"));
  auto* sel = req.mutable_filter()->mutable_by_selectors();
  auto* s = sel->add_selectors();
  s->set_type("unix");
  s->set_value("uid:1");
  sel->set_match(sapi::SelectorMatch::MATCH_EXACT);
  EXPECT_THAT(ListIds(req), ::testing::ElementsAre("/b"));
  sel->set_match(sapi::SelectorMatch::MATCH_SUPERSET);
  EXPECT_THAT(ListIds(req), ::testing::UnorderedElementsAre("/a", "/b"));
  sel->set_match(sapi::SelectorMatch::MATCH_SUBSET);
  EXPECT_THAT(ListIds(req), ::testing::ElementsAre("/b"));
  req.clear_filter();
  req.mutable_filter()->mutable_by_hint()->set_value("hc");
  EXPECT_THAT(ListIds(req), ::testing::ElementsAre("/c"));
  req.clear_filter();
  req.mutable_filter()->mutable_by_downstream()->set_value(true);
  EXPECT_TRUE(ListIds(req).empty());
  req.clear_filter();
  req.mutable_filter()->mutable_by_federates_with()->add_trust_domains("other.org");
  EXPECT_TRUE(ListIds(req).empty());  // nothing federates
  req.mutable_filter()->mutable_by_federates_with()->add_trust_domains("BAD DOMAIN");
  entryv1::ListEntriesResponse resp;
  EXPECT_THAT(svc_->ListEntries(nullptr, &req, &resp).error_message(), HasSubstr("malformed federates with filter"));
  // Pagination: pages of 2, then 1, in id order, covering every entry once.
  req.clear_filter();
  req.set_page_size(2);
  std::string next;
  auto page1 = ListIds(req, &next);
  ASSERT_EQ(page1.size(), 2u);
  ASSERT_FALSE(next.empty());
  req.set_page_token(next);
  auto page2 = ListIds(req, &next);
  EXPECT_EQ(page2.size(), 1u);
  EXPECT_TRUE(next.empty());
  // Output mask: only the selected fields.
  req.clear_page_token();
  req.set_page_size(0);
  req.mutable_output_mask()->set_hint(true);
  svc_->ListEntries(nullptr, &req, &resp);
  for (auto& e : resp.entries()) {
    EXPECT_FALSE(e.has_spiffe_id());
    EXPECT_FALSE(e.id().empty());
  }
  entryv1::CountEntriesRequest count;
  entryv1::CountEntriesResponse n;
  ASSERT_TRUE(svc_->CountEntries(nullptr, &count, &n).ok());
  EXPECT_EQ(n.count(), 3);
  *count.mutable_filter()->mutable_by_parent_id() = Id("example.org", "/other-parent");
  ASSERT_TRUE(svc_->CountEntries(nullptr, &count, &n).ok());
  EXPECT_EQ(n.count(), 1);
}

TEST_F(EntryServiceTest, GetUpdateDelete) {
  const std::string id = CreateOk(WireEntry("/w", kAgentPath, {{"unix", "uid:1"}}));
  entryv1::GetEntryRequest get;
  sapi::Entry got;
  EXPECT_EQ(svc_->GetEntry(nullptr, &get, &got).error_message(), "missing ID");
  get.set_id("nope");
  EXPECT_EQ(svc_->GetEntry(nullptr, &get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_id(id);
  ASSERT_TRUE(svc_->GetEntry(nullptr, &get, &got).ok());
  EXPECT_EQ(got.spiffe_id().path(), "/w");

  // Input mask: only the TTL changes.
  entryv1::BatchUpdateEntryRequest up;
  auto* e = up.add_entries();
  e->set_id(id);
  e->set_x509_svid_ttl(600);
  up.mutable_input_mask()->set_x509_svid_ttl(true);
  auto* missing = up.add_entries();
  missing->set_id("nope");
  entryv1::BatchUpdateEntryResponse ur;
  ASSERT_TRUE(svc_->BatchUpdateEntry(nullptr, &up, &ur).ok());
  ASSERT_EQ(ur.results(0).status().code(), 0) << ur.results(0).status().message();
  EXPECT_EQ(ur.results(0).entry().x509_svid_ttl(), 600);
  EXPECT_EQ(ur.results(0).entry().spiffe_id().path(), "/w");
  EXPECT_EQ(ur.results(0).entry().revision_number(), 1);
  EXPECT_EQ(ur.results(1).status().code(), grpc::StatusCode::NOT_FOUND);
  // No input mask: every field, as SPIRE's `entry update` sends it.
  up.clear_input_mask();
  up.mutable_entries()->RemoveLast();
  *e = WireEntry("/w2", kAgentPath, {{"unix", "uid:2"}});
  e->set_id(id);
  e->set_store_svid(true);  // a flag for the agent's SVIDStore plugins: kept
  ur.Clear();
  ASSERT_TRUE(svc_->BatchUpdateEntry(nullptr, &up, &ur).ok());
  ASSERT_EQ(ur.results(0).status().code(), 0) << ur.results(0).status().message();
  EXPECT_EQ(ur.results(0).entry().spiffe_id().path(), "/w2");
  EXPECT_EQ(ur.results(0).entry().x509_svid_ttl(), 0);
  EXPECT_TRUE(ur.results(0).entry().store_svid());

  entryv1::BatchDeleteEntryRequest del;
  del.add_ids(id);
  del.add_ids(id);
  del.add_ids("");
  entryv1::BatchDeleteEntryResponse dr;
  ASSERT_TRUE(svc_->BatchDeleteEntry(nullptr, &del, &dr).ok());
  EXPECT_EQ(dr.results(0).status().code(), 0);
  EXPECT_EQ(dr.results(0).id(), id);
  EXPECT_EQ(dr.results(1).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(dr.results(1).status().message(), "entry not found");
  EXPECT_EQ(dr.results(2).status().message(), "missing entry ID");
  EXPECT_EQ(entries_->size(), 0u);
}

TEST_F(EntryServiceTest, FederatesWithIsStoredFilteredAndReturned) {
  for (const char* td : {"a.org", "b.org"}) {
    datastore::BundleRecord b;
    b.trust_domain = td;
    ASSERT_TRUE(ds_->CreateBundle(b).ok());
  }
  auto ab = WireEntry("/ab", kAgentPath, {{"unix", "uid:1"}});
  ab.add_federates_with("a.org");
  ab.add_federates_with("spiffe://b.org");
  auto a = WireEntry("/a", kAgentPath, {{"unix", "uid:2"}});
  a.add_federates_with("a.org");
  const std::string ab_id = CreateOk(ab);
  CreateOk(a);
  CreateOk(WireEntry("/none", kAgentPath, {{"unix", "uid:3"}}));

  entryv1::GetEntryRequest get;
  get.set_id(ab_id);
  sapi::Entry got;
  ASSERT_TRUE(svc_->GetEntry(nullptr, &get, &got).ok());
  ASSERT_EQ(got.federates_with_size(), 2);
  EXPECT_EQ(got.federates_with(0), "a.org");
  EXPECT_EQ(got.federates_with(1), "b.org");

  entryv1::ListEntriesRequest req;
  auto* f = req.mutable_filter()->mutable_by_federates_with();
  f->add_trust_domains("a.org");
  f->set_match(sapi::FederatesWithMatch::MATCH_EXACT);
  EXPECT_THAT(ListIds(req), ::testing::ElementsAre("/a"));
  f->set_match(sapi::FederatesWithMatch::MATCH_SUPERSET);
  EXPECT_THAT(ListIds(req), ::testing::UnorderedElementsAre("/a", "/ab"));
  f->set_match(sapi::FederatesWithMatch::MATCH_SUBSET);
  EXPECT_THAT(ListIds(req), ::testing::ElementsAre("/a"));
  f->add_trust_domains("spiffe://b.org");
  EXPECT_THAT(ListIds(req), ::testing::UnorderedElementsAre("/a", "/ab"));
  f->clear_trust_domains();
  f->add_trust_domains("b.org");
  f->set_match(sapi::FederatesWithMatch::MATCH_ANY);
  EXPECT_THAT(ListIds(req), ::testing::ElementsAre("/ab"));
  entryv1::CountEntriesRequest count;
  *count.mutable_filter()->mutable_by_federates_with() = *f;
  entryv1::CountEntriesResponse n;
  ASSERT_TRUE(svc_->CountEntries(nullptr, &count, &n).ok());
  EXPECT_EQ(n.count(), 1);
}

}  // namespace
}  // namespace spirecvm::server::spireapi
