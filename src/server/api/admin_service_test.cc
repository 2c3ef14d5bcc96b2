// The admin API without gRPC transport: the service built from its own deps only (no node service,
// no attestors, no endpoints), called directly.
#include "server/api/admin_service.h"

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/keymanager/key_manager.h"
#include "server/testing/server_parts_test_base.h"
#include "spiffe/jwt_svid.h"

namespace spirecvm::server {
namespace {

using ::testing::HasSubstr;

class AdminServiceTest : public server::testing::ServerPartsTest {
 protected:
  void SetUp() override {
    ServerPartsTest::SetUp();
    if (HasFatalFailure()) return;
    svc_ = std::make_unique<AdminService>(
        AdminServiceDeps{.trust_domain = td_,
                         .ds = *ds_,
                         .ca = *ca_,
                         .entries = *entries_,
                         .clock = clock_,
                         .rnd = rnd_,
                         .metrics = metrics_,
                         .ttls = {.agent = absl::Hours(1), .x509 = absl::Minutes(30), .jwt = absl::Minutes(5)}});
  }

  static types::Entry Entry(const std::string& spiffe_id, const std::string& parent_id) {
    types::Entry e;
    e.set_spiffe_id(spiffe_id);
    e.set_parent_id(parent_id);
    auto* s = e.add_selectors();
    s->set_type("unix");
    s->set_value("uid:1000");
    return e;
  }
  grpc::Status Create(const types::Entry& e, admin::v1::EntryResult* out) {
    admin::v1::CreateEntryRequest req;
    *req.mutable_entry() = e;
    return svc_->CreateEntry(nullptr, &req, out);
  }
  void AddNode(const std::string& id) {
    datastore::AttestedNode node;
    node.spiffe_id = id;
    node.attestation_type = "join_token";
    node.cert_serial = "1";
    ASSERT_TRUE(ds_->UpsertAttestedNode(node).ok());
  }

  std::unique_ptr<AdminService> svc_;
};

constexpr char kAgent[] = "spiffe://example.org/spire/agent/join_token/t1";
constexpr char kWorkload[] = "spiffe://example.org/workload";

TEST_F(AdminServiceTest, EntryCreateGetListUpdateDelete) {
  admin::v1::EntryResult created;
  ASSERT_TRUE(Create(Entry(kWorkload, kAgent), &created).ok());
  const std::string id = created.entry().id();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(entries_->AuthorizedEntries(kAgent, {}).size(), 1u) << "the entry cache sees the change at once";

  types::Entry got;
  admin::v1::GetEntryRequest get;
  get.set_id(id);
  ASSERT_TRUE(svc_->GetEntry(nullptr, &get, &got).ok());
  EXPECT_EQ(got.spiffe_id(), kWorkload);

  ASSERT_TRUE(Create(Entry("spiffe://example.org/other", kAgent), &created).ok());
  admin::v1::ListEntriesRequest list;
  list.set_by_spiffe_id(kWorkload);
  admin::v1::ListEntriesResponse listed;
  ASSERT_TRUE(svc_->ListEntries(nullptr, &list, &listed).ok());
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).id(), id);
  admin::v1::CountResponse count;
  ASSERT_TRUE(svc_->CountEntries(nullptr, nullptr, &count).ok());
  EXPECT_EQ(count.count(), 2);

  admin::v1::UpdateEntryRequest update;
  *update.mutable_entry() = got;
  update.mutable_entry()->set_x509_svid_ttl(120);
  admin::v1::EntryResult updated;
  ASSERT_TRUE(svc_->UpdateEntry(nullptr, &update, &updated).ok());
  EXPECT_EQ(updated.entry().x509_svid_ttl(), 120);
  EXPECT_GT(updated.entry().revision_number(), got.revision_number());

  admin::v1::DeleteEntryRequest del;
  del.set_id(id);
  ASSERT_TRUE(svc_->DeleteEntry(nullptr, &del, nullptr).ok());
  EXPECT_EQ(svc_->GetEntry(nullptr, &get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(svc_->DeleteEntry(nullptr, &del, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(entries_->AuthorizedEntries(kAgent, {}).size(), 1u);
}

TEST_F(AdminServiceTest, InvalidEntriesAreInvalidArgumentNamingTheField) {
  admin::v1::EntryResult out;
  auto st = Create(Entry("spiffe://elsewhere.org/w", kAgent), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("not in trust domain example.org"));
  st = Create(Entry("spiffe://example.org/spire/w", kAgent), &out);
  EXPECT_THAT(st.error_message(), HasSubstr("reserved /spire namespace"));
  types::Entry no_selectors = Entry(kWorkload, kAgent);
  no_selectors.clear_selectors();
  EXPECT_THAT(Create(no_selectors, &out).error_message(), HasSubstr("at least one selector"));
  types::Entry bad_dns = Entry(kWorkload, kAgent);
  bad_dns.add_dns_names("not a host");
  EXPECT_THAT(Create(bad_dns, &out).error_message(), HasSubstr("dns name \"not a host\""));

  admin::v1::UpdateEntryRequest no_id;
  *no_id.mutable_entry() = Entry(kWorkload, kAgent);
  EXPECT_EQ(svc_->UpdateEntry(nullptr, &no_id, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  admin::v1::DeleteEntryRequest del;
  EXPECT_EQ(svc_->DeleteEntry(nullptr, &del, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  admin::v1::CountResponse count;
  ASSERT_TRUE(svc_->CountEntries(nullptr, nullptr, &count).ok());
  EXPECT_EQ(count.count(), 0) << "nothing invalid was stored";
}

TEST_F(AdminServiceTest, AgentsListGetCountEvictBan) {
  AddNode("spiffe://example.org/spire/agent/join_token/a");
  AddNode("spiffe://example.org/spire/agent/join_token/b");
  admin::v1::ListAgentsResponse list;
  ASSERT_TRUE(svc_->ListAgents(nullptr, nullptr, &list).ok());
  EXPECT_EQ(list.agents_size(), 2);
  admin::v1::CountResponse count;
  ASSERT_TRUE(svc_->CountAgents(nullptr, nullptr, &count).ok());
  EXPECT_EQ(count.count(), 2);

  admin::v1::AgentIdRequest a;
  a.set_spiffe_id("spiffe://example.org/spire/agent/join_token/a");
  ASSERT_TRUE(svc_->BanAgent(nullptr, &a, nullptr).ok());
  admin::v1::GetAgentRequest get;
  get.set_spiffe_id(a.spiffe_id());
  types::AttestedNode node;
  ASSERT_TRUE(svc_->GetAgent(nullptr, &get, &node).ok());
  EXPECT_TRUE(node.banned());

  admin::v1::AgentIdRequest b;
  b.set_spiffe_id("spiffe://example.org/spire/agent/join_token/b");
  ASSERT_TRUE(svc_->EvictAgent(nullptr, &b, nullptr).ok());
  get.set_spiffe_id(b.spiffe_id());
  auto st = svc_->GetAgent(nullptr, &get, &node);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr(b.spiffe_id()));
  EXPECT_EQ(svc_->EvictAgent(nullptr, &b, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(svc_->BanAgent(nullptr, &b, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminServiceTest, JoinTokensExpireAfterTheirTtlAndMayCarryAnAlias) {
  admin::v1::CreateJoinTokenRequest req;
  admin::v1::CreateJoinTokenResponse resp;
  ASSERT_TRUE(svc_->CreateJoinToken(nullptr, &req, &resp).ok());
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  EXPECT_EQ(resp.expires_at(), now + 600) << "default ttl";
  EXPECT_TRUE(ds_->ConsumeJoinToken(resp.token(), now).ok());

  req.set_ttl(30);
  req.set_agent_id("spiffe://example.org/node/n1");
  ASSERT_TRUE(svc_->CreateJoinToken(nullptr, &req, &resp).ok());
  EXPECT_EQ(resp.expires_at(), now + 30);
  datastore::ListEntriesFilter by_id;
  by_id.by_spiffe_id = "spiffe://example.org/node/n1";
  auto alias = ds_->ListEntries(by_id);
  ASSERT_TRUE(alias.ok());
  ASSERT_EQ(alias->size(), 1u);
  EXPECT_EQ((*alias)[0].parent_id, "spiffe://example.org/spire/agent/join_token/" + resp.token());

  req.set_ttl(-1);
  EXPECT_EQ(svc_->CreateJoinToken(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_ttl(0);
  req.set_agent_id("spiffe://elsewhere.org/node");
  EXPECT_EQ(svc_->CreateJoinToken(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, MintX509SvidFromACsrWithOneUriSan) {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  admin::v1::MintX509SVIDRequest req;
  req.set_csr(*crypto::CreateCsr(key->get(), std::string(kWorkload)));
  admin::v1::MintX509SVIDResponse resp;
  ASSERT_TRUE(svc_->MintX509SVID(nullptr, &req, &resp).ok());
  EXPECT_EQ(resp.svid().spiffe_id(), kWorkload);
  EXPECT_EQ(resp.svid().cert_chain_size(), 1);
  EXPECT_EQ(resp.svid().expires_at(), absl::ToUnixSeconds(clock_.Now() + absl::Minutes(30))) << "default x509 ttl";
  EXPECT_EQ(metrics_.x509_svids_minted.load(), 1u);

  req.set_csr(*crypto::CreateCsr(key->get(), std::nullopt));
  auto st = svc_->MintX509SVID(nullptr, &req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("exactly one URI SAN"));
  req.set_csr("garbage");
  EXPECT_EQ(svc_->MintX509SVID(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_ttl(-5);
  EXPECT_EQ(svc_->MintX509SVID(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, MintJwtSvid) {
  admin::v1::MintJWTSVIDRequest req;
  req.set_spiffe_id(kWorkload);
  req.add_audience("db");
  req.set_ttl(60);
  admin::v1::MintJWTSVIDResponse resp;
  ASSERT_TRUE(svc_->MintJWTSVID(nullptr, &req, &resp).ok());
  EXPECT_EQ(resp.svid().spiffe_id(), kWorkload);
  EXPECT_FALSE(resp.svid().token().empty());
  EXPECT_EQ(resp.svid().expires_at(), absl::ToUnixSeconds(clock_.Now()) + 60);
  EXPECT_EQ(metrics_.jwt_svids_minted.load(), 1u);

  req.clear_audience();
  EXPECT_EQ(svc_->MintJWTSVID(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.add_audience("db");
  req.set_spiffe_id("not an id");
  EXPECT_EQ(svc_->MintJWTSVID(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_spiffe_id("spiffe://elsewhere.org/w");
  EXPECT_EQ(svc_->MintJWTSVID(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminServiceTest, BundleAndHealth) {
  types::Bundle bundle;
  ASSERT_TRUE(svc_->GetBundle(nullptr, nullptr, &bundle).ok());
  EXPECT_EQ(bundle.trust_domain(), "example.org");
  EXPECT_EQ(bundle.x509_authorities_size(), 1);
  admin::v1::HealthResponse health;
  ASSERT_TRUE(svc_->Health(nullptr, nullptr, &health).ok());
  EXPECT_EQ(health.status(), "SERVING");
}

}  // namespace
}  // namespace spirecvm::server
