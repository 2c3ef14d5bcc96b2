// SPIRE's Bundle service called directly: our trust domain's bundle as the CA published it, and federated bundles
// stored, listed, updated and deleted with SPIRE's per-item statuses.
#include "server/api/spire/bundle_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/spire/test_fixture.h"

namespace spirecvm::server::spireapi {
namespace {

class BundleServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    svc_ =
        std::make_unique<BundleService>(BundleServiceDeps{.trust_domain = td_, .ds = *ds_, .entries = entries_.get()});
    auto own = ds_->FetchBundle("example.org");
    ASSERT_TRUE(own.ok());
    own_ = *own;
  }
  // A federated bundle made of real key material (our CA's certificate and JWT key stand in for another's).
  sapi::Bundle Fed(const std::string& td, int64_t seq = 0) const {
    sapi::Bundle b;
    b.set_trust_domain(td);
    b.add_x509_authorities()->set_asn1(own_.x509_authorities_der[0]);
    auto* k = b.add_jwt_authorities();
    k->set_key_id(own_.jwt_keys[0].kid);
    k->set_public_key(own_.jwt_keys[0].public_key_der);
    b.set_refresh_hint(60);
    b.set_sequence_number(seq);
    return b;
  }
  std::vector<std::string> ListTds(bundlev1::ListFederatedBundlesRequest req, std::string* next = nullptr) {
    bundlev1::ListFederatedBundlesResponse resp;
    EXPECT_TRUE(svc_->ListFederatedBundles(nullptr, &req, &resp).ok());
    std::vector<std::string> out;
    for (const auto& b : resp.bundles()) out.push_back(b.trust_domain());
    if (next != nullptr) *next = resp.next_page_token();
    return out;
  }
  std::unique_ptr<BundleService> svc_;
  datastore::BundleRecord own_;
};

TEST_F(BundleServiceTest, GetBundleIsTheStoredOne) {
  auto stored = ds_->FetchBundle("example.org");
  ASSERT_TRUE(stored.ok());
  bundlev1::GetBundleRequest req;
  sapi::Bundle b;
  ASSERT_TRUE(svc_->GetBundle(nullptr, &req, &b).ok());
  EXPECT_EQ(b.trust_domain(), "example.org");
  ASSERT_EQ(b.x509_authorities_size(), static_cast<int>(stored->x509_authorities_der.size()));
  EXPECT_EQ(b.x509_authorities(0).asn1(), stored->x509_authorities_der[0]);
  ASSERT_GE(b.jwt_authorities_size(), 1);
  EXPECT_EQ(b.jwt_authorities(0).key_id(), stored->jwt_keys[0].kid);
  EXPECT_EQ(b.sequence_number(), stored->sequence_number);
  // The CA's certificate is the first authority.
  auto roots = ca_->X509Authorities();
  ASSERT_FALSE(roots.empty());
  req.mutable_output_mask()->set_jwt_authorities(true);
  sapi::Bundle masked;
  ASSERT_TRUE(svc_->GetBundle(nullptr, &req, &masked).ok());
  EXPECT_EQ(masked.x509_authorities_size(), 0);
  EXPECT_EQ(masked.jwt_authorities_size(), b.jwt_authorities_size());
}

TEST_F(BundleServiceTest, NothingFederatedAtFirst) {
  bundlev1::CountBundlesRequest creq;
  bundlev1::CountBundlesResponse cresp;
  ASSERT_TRUE(svc_->CountBundles(nullptr, &creq, &cresp).ok());
  EXPECT_EQ(cresp.count(), 1);  // our own, as SPIRE counts it
  bundlev1::ListFederatedBundlesRequest lreq;
  bundlev1::ListFederatedBundlesResponse lresp;
  ASSERT_TRUE(svc_->ListFederatedBundles(nullptr, &lreq, &lresp).ok());
  EXPECT_EQ(lresp.bundles_size(), 0);
  bundlev1::GetFederatedBundleRequest g;
  sapi::Bundle b;
  g.set_trust_domain("example.org");
  EXPECT_EQ(svc_->GetFederatedBundle(nullptr, &g, &b).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  g.set_trust_domain("other.org");
  EXPECT_EQ(svc_->GetFederatedBundle(nullptr, &g, &b).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(BundleServiceTest, BatchCreateAnswersPerItem) {
  bundlev1::BatchCreateFederatedBundleRequest req;
  *req.add_bundle() = Fed("spiffe://b.org", 4);
  *req.add_bundle() = Fed("example.org");
  *req.add_bundle() = Fed("not a domain");
  *req.add_bundle() = Fed("b.org");
  auto bad = Fed("c.org");
  bad.mutable_x509_authorities(0)->set_asn1("junk");
  *req.add_bundle() = bad;
  req.mutable_output_mask()->set_sequence_number(true);
  bundlev1::BatchCreateFederatedBundleResponse resp;
  ASSERT_TRUE(svc_->BatchCreateFederatedBundle(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 5);
  EXPECT_EQ(resp.results(0).status().code(), 0);
  EXPECT_EQ(resp.results(0).status().message(), "OK");
  EXPECT_EQ(resp.results(0).bundle().trust_domain(), "b.org");
  EXPECT_EQ(resp.results(0).bundle().sequence_number(), 4u);
  EXPECT_EQ(resp.results(0).bundle().x509_authorities_size(), 0);  // masked out
  EXPECT_EQ(resp.results(1).status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(resp.results(1).status().message(),
            "creating a federated bundle for the server's own trust domain is not allowed");
  EXPECT_EQ(resp.results(2).status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(resp.results(2).status().message(), ::testing::StartsWith("trust domain argument is not valid"));
  EXPECT_EQ(resp.results(3).status().code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(resp.results(3).status().message(), "bundle already exists");
  EXPECT_EQ(resp.results(4).status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(resp.results(4).status().message(), ::testing::StartsWith("failed to convert bundle"));
  EXPECT_FALSE(resp.results(4).has_bundle());
  EXPECT_EQ(ds_->FetchBundle("c.org").status().code(), absl::StatusCode::kNotFound);  // nothing written

  bundlev1::CountBundlesRequest creq;
  bundlev1::CountBundlesResponse cresp;
  ASSERT_TRUE(svc_->CountBundles(nullptr, &creq, &cresp).ok());
  EXPECT_EQ(cresp.count(), 2);  // ours and b.org
  bundlev1::GetFederatedBundleRequest g;
  g.set_trust_domain("b.org");
  sapi::Bundle got;
  ASSERT_TRUE(svc_->GetFederatedBundle(nullptr, &g, &got).ok());
  EXPECT_EQ(got.x509_authorities(0).asn1(), own_.x509_authorities_der[0]);
  EXPECT_EQ(got.jwt_authorities(0).key_id(), own_.jwt_keys[0].kid);
  EXPECT_EQ(got.refresh_hint(), 60);
}

TEST_F(BundleServiceTest, ListPagesFederatedBundlesOnly) {
  bundlev1::BatchSetFederatedBundleRequest set;
  for (const char* td : {"c.org", "a.org", "b.org"}) *set.add_bundle() = Fed(td);
  bundlev1::BatchSetFederatedBundleResponse sresp;
  ASSERT_TRUE(svc_->BatchSetFederatedBundle(nullptr, &set, &sresp).ok());
  for (const auto& r : sresp.results()) EXPECT_EQ(r.status().code(), 0) << r.status().message();
  bundlev1::ListFederatedBundlesRequest req;
  EXPECT_THAT(ListTds(req), ::testing::ElementsAre("a.org", "b.org", "c.org"));  // never our own
  req.set_page_size(2);
  std::string next;
  EXPECT_THAT(ListTds(req, &next), ::testing::ElementsAre("a.org", "b.org"));
  ASSERT_FALSE(next.empty());
  req.set_page_token(next);
  EXPECT_THAT(ListTds(req, &next), ::testing::ElementsAre("c.org"));
  EXPECT_TRUE(next.empty());
  req.set_page_size(-1);
  bundlev1::ListFederatedBundlesResponse resp;
  EXPECT_EQ(svc_->ListFederatedBundles(nullptr, &req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BundleServiceTest, UpdateAndSetReplaceFields) {
  bundlev1::BatchUpdateFederatedBundleRequest up;
  auto b = Fed("b.org");
  b.clear_jwt_authorities();
  b.set_refresh_hint(5);
  *up.add_bundle() = b;
  *up.add_bundle() = Fed("example.org");
  bundlev1::BatchUpdateFederatedBundleResponse uresp;
  ASSERT_TRUE(svc_->BatchUpdateFederatedBundle(nullptr, &up, &uresp).ok());
  EXPECT_EQ(uresp.results(0).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(uresp.results(0).status().message(), "bundle not found");
  EXPECT_EQ(uresp.results(1).status().message(),
            "updating a federated bundle for the server's own trust domain is not allowed");

  bundlev1::BatchSetFederatedBundleRequest set;
  *set.add_bundle() = Fed("b.org");
  *set.add_bundle() = Fed("spiffe://example.org");
  bundlev1::BatchSetFederatedBundleResponse sresp;
  ASSERT_TRUE(svc_->BatchSetFederatedBundle(nullptr, &set, &sresp).ok());
  EXPECT_EQ(sresp.results(0).status().code(), 0);
  EXPECT_EQ(sresp.results(1).status().message(),
            "setting a federated bundle for the server's own trust domain is not allowed");

  // Input mask: only the refresh hint changes; the JWT key stays although the input has none.
  up.mutable_bundle()->RemoveLast();
  up.mutable_input_mask()->set_refresh_hint(true);
  uresp.Clear();
  ASSERT_TRUE(svc_->BatchUpdateFederatedBundle(nullptr, &up, &uresp).ok());
  ASSERT_EQ(uresp.results(0).status().code(), 0) << uresp.results(0).status().message();
  EXPECT_EQ(uresp.results(0).bundle().refresh_hint(), 5);
  EXPECT_EQ(uresp.results(0).bundle().jwt_authorities_size(), 1);
  // No mask: every field, so the JWT keys go.
  up.clear_input_mask();
  uresp.Clear();
  ASSERT_TRUE(svc_->BatchUpdateFederatedBundle(nullptr, &up, &uresp).ok());
  EXPECT_EQ(uresp.results(0).bundle().jwt_authorities_size(), 0);
}

TEST_F(BundleServiceTest, DeleteModesAndEntries) {
  bundlev1::BatchSetFederatedBundleRequest set;
  *set.add_bundle() = Fed("b.org");
  bundlev1::BatchSetFederatedBundleResponse sresp;
  ASSERT_TRUE(svc_->BatchSetFederatedBundle(nullptr, &set, &sresp).ok());
  datastore::RegistrationEntry e;
  e.spiffe_id = "spiffe://example.org/w";
  e.parent_id = "spiffe://example.org/spire/agent/x";
  e.selectors = {{"unix", "uid:1"}};
  e.federates_with = {"b.org"};
  auto created = ds_->CreateEntry(e);
  ASSERT_TRUE(created.ok()) << created.status();

  bundlev1::BatchDeleteFederatedBundleRequest del;
  del.add_trust_domains("b.org");
  del.add_trust_domains("example.org");
  del.add_trust_domains("nope.org");
  del.add_trust_domains("Bad Domain");
  bundlev1::BatchDeleteFederatedBundleResponse dresp;
  ASSERT_TRUE(svc_->BatchDeleteFederatedBundle(nullptr, &del, &dresp).ok());
  ASSERT_EQ(dresp.results_size(), 4);
  EXPECT_EQ(dresp.results(0).trust_domain(), "b.org");
  EXPECT_EQ(dresp.results(0).status().code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(dresp.results(0).status().message(),
            "failed to delete federated bundle: cannot delete bundle; federated with 1 registration entries");
  EXPECT_EQ(dresp.results(1).status().message(), "removing the bundle for the server trust domain is not allowed");
  EXPECT_EQ(dresp.results(2).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(dresp.results(2).status().message(), "bundle not found");
  EXPECT_EQ(dresp.results(3).status().code(), grpc::StatusCode::INVALID_ARGUMENT);

  // DISSOCIATE: the bundle goes, the entry stays without it.
  del.clear_trust_domains();
  del.add_trust_domains("b.org");
  del.set_mode(bundlev1::BatchDeleteFederatedBundleRequest::DISSOCIATE);
  dresp.Clear();
  ASSERT_TRUE(svc_->BatchDeleteFederatedBundle(nullptr, &del, &dresp).ok());
  EXPECT_EQ(dresp.results(0).status().code(), 0) << dresp.results(0).status().message();
  EXPECT_TRUE(ds_->FetchEntry(created->id)->federates_with.empty());

  // DELETE: the entry goes with the bundle.
  ASSERT_TRUE(svc_->BatchSetFederatedBundle(nullptr, &set, &sresp).ok());
  e.federates_with = {"b.org"};
  e.selectors = {{"unix", "uid:2"}};
  auto second = ds_->CreateEntry(e);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(entries_->Refresh().ok());
  const size_t cached = entries_->size();
  del.set_mode(bundlev1::BatchDeleteFederatedBundleRequest::DELETE);
  dresp.Clear();
  ASSERT_TRUE(svc_->BatchDeleteFederatedBundle(nullptr, &del, &dresp).ok());
  EXPECT_EQ(dresp.results(0).status().code(), 0);
  EXPECT_EQ(ds_->FetchEntry(second->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(entries_->size(), cached - 1);  // agents see it at once
  EXPECT_TRUE(ds_->FetchEntry(created->id).ok());
}

TEST_F(BundleServiceTest, AppendBundleAddsToOurs) {
  bundlev1::AppendBundleRequest req;
  sapi::Bundle out;
  EXPECT_EQ(svc_->AppendBundle(nullptr, &req, &out).error_message(), "no authorities to append");
  req.add_jwt_authorities()->set_public_key("junk");
  EXPECT_THAT(svc_->AppendBundle(nullptr, &req, &out).error_message(),
              ::testing::StartsWith("failed to convert JWT authority"));
  req.clear_jwt_authorities();
  req.add_x509_authorities()->set_asn1("junk");
  EXPECT_THAT(svc_->AppendBundle(nullptr, &req, &out).error_message(),
              ::testing::StartsWith("failed to convert X.509 authority"));
  // A new JWT key (our CA's key under another kid) and an authority already present (deduplicated).
  req.clear_x509_authorities();
  req.add_x509_authorities()->set_asn1(own_.x509_authorities_der[0]);
  auto* k = req.add_jwt_authorities();
  k->set_key_id("appended-kid");
  k->set_public_key(own_.jwt_keys[0].public_key_der);
  k->set_expires_at(1'900'000'000);
  ASSERT_TRUE(svc_->AppendBundle(nullptr, &req, &out).ok());
  EXPECT_EQ(out.trust_domain(), "example.org");
  EXPECT_EQ(out.x509_authorities_size(), static_cast<int>(own_.x509_authorities_der.size()));
  ASSERT_EQ(out.jwt_authorities_size(), static_cast<int>(own_.jwt_keys.size()) + 1);
  EXPECT_EQ(out.jwt_authorities(out.jwt_authorities_size() - 1).key_id(), "appended-kid");
  EXPECT_EQ(out.sequence_number(), own_.sequence_number + 1);
  EXPECT_EQ(ds_->FetchBundle("example.org")->jwt_keys.size(), own_.jwt_keys.size() + 1);
}

// SPIRE admits only downstream callers over TLS; a local caller gets its authorization middleware's refusal.
TEST_F(BundleServiceTest, PublishJwtAuthorityIsRefusedOnTheAdminSocket) {
  bundlev1::PublishJWTAuthorityRequest req;
  bundlev1::PublishJWTAuthorityResponse resp;
  grpc::Status st = svc_->PublishJWTAuthority(nullptr, &req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(),
            "authorization denied for method /spire.api.server.bundle.v1.Bundle/PublishJWTAuthority");
}

}  // namespace
}  // namespace spirecvm::server::spireapi
