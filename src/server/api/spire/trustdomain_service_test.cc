// SPIRE's TrustDomain service called directly: relationships stored, listed, updated and deleted with SPIRE's
// per-item statuses and messages; a given bundle stored as the domain's bundle; RefreshBundle for unknown domains.
#include "server/api/spire/trustdomain_service.h"

#include "gtest/gtest.h"
#include "server/api/spire/test_fixture.h"

namespace spirecvm::server::spireapi {
namespace {

class TrustDomainServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    refresher_ = std::make_unique<federation::BundleRefresher>(
        federation::BundleRefresherDeps{.ds = *ds_, .clock = clock_, .relationships = [this] {
                                          std::vector<server::FederationRelationship> out;
                                          auto stored = ds_->ListFederationRelationships();
                                          for (const auto& r : *stored) out.push_back(*RelationshipFromRecord(r));
                                          return out;
                                        }});
    svc_ = std::make_unique<TrustDomainService>(
        TrustDomainServiceDeps{.trust_domain = td_, .ds = *ds_, .refresher = refresher_.get()});
  }
  static sapi::FederationRelationship Web(const std::string& td, const std::string& url) {
    sapi::FederationRelationship r;
    r.set_trust_domain(td);
    r.set_bundle_endpoint_url(url);
    r.mutable_https_web();
    return r;
  }
  trustdomainv1::BatchCreateFederationRelationshipResponse Create(std::vector<sapi::FederationRelationship> rels) {
    trustdomainv1::BatchCreateFederationRelationshipRequest req;
    for (auto& r : rels) *req.add_federation_relationships() = r;
    trustdomainv1::BatchCreateFederationRelationshipResponse resp;
    EXPECT_TRUE(svc_->BatchCreateFederationRelationship(nullptr, &req, &resp).ok());
    return resp;
  }
  std::unique_ptr<federation::BundleRefresher> refresher_;
  std::unique_ptr<TrustDomainService> svc_;
};

TEST_F(TrustDomainServiceTest, CreateAnswersPerItemWithSpiresMessages) {
  sapi::FederationRelationship spiffe;
  spiffe.set_trust_domain("spiffe://other.org");
  spiffe.set_bundle_endpoint_url("https://10.0.0.1:8443");
  spiffe.mutable_https_spiffe()->set_endpoint_spiffe_id("spiffe://other.org/spire/server");
  auto own = *ds_->FetchBundle("example.org");
  auto* b = spiffe.mutable_trust_domain_bundle();
  b->set_trust_domain("other.org");
  b->add_x509_authorities()->set_asn1(own.x509_authorities_der[0]);
  sapi::FederationRelationship no_profile = Web("c.org", "https://c.org");
  no_profile.clear_bundle_endpoint_profile();
  auto resp = Create({spiffe, Web("example.org", "https://x"), Web("b.org", "http://b.org"), Web("b.org", "https://"),
                      no_profile, Web("web.org", "https://web.org/b"), Web("web.org", "https://again")});
  ASSERT_EQ(resp.results_size(), 7);
  EXPECT_EQ(resp.results(0).status().code(), 0) << resp.results(0).status().message();
  EXPECT_EQ(resp.results(0).federation_relationship().trust_domain(), "other.org");
  EXPECT_EQ(resp.results(0).federation_relationship().https_spiffe().endpoint_spiffe_id(),
            "spiffe://other.org/spire/server");
  EXPECT_EQ(resp.results(1).status().message(), "unable to create federation relationship for server trust domain");
  EXPECT_EQ(resp.results(2).status().message(),
            "failed to convert federation relationship: bundle endpoint URL must use the https scheme");
  EXPECT_EQ(resp.results(3).status().message(),
            "failed to convert federation relationship: bundle endpoint URL must specify the host");
  EXPECT_EQ(resp.results(4).status().message(),
            "failed to convert federation relationship: unsupported bundle endpoint profile type: <nil>");
  EXPECT_EQ(resp.results(5).status().code(), 0);
  EXPECT_EQ(resp.results(6).status().code(), static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
  // The given bundle is the domain's bundle now.
  auto stored = ds_->FetchBundle("other.org");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->x509_authorities_der, own.x509_authorities_der);

  trustdomainv1::ListFederationRelationshipsRequest list;
  trustdomainv1::ListFederationRelationshipsResponse all;
  ASSERT_TRUE(svc_->ListFederationRelationships(nullptr, &list, &all).ok());
  ASSERT_EQ(all.federation_relationships_size(), 2);
  EXPECT_EQ(all.federation_relationships(0).trust_domain(), "other.org");
  EXPECT_EQ(all.federation_relationships(0).trust_domain_bundle().x509_authorities_size(), 1);
  EXPECT_EQ(all.federation_relationships(1).trust_domain(), "web.org");
  EXPECT_TRUE(all.federation_relationships(1).has_https_web());
  list.set_page_size(1);
  ASSERT_TRUE(svc_->ListFederationRelationships(nullptr, &list, &all).ok());
  EXPECT_EQ(all.next_page_token(), "other.org");
}

TEST_F(TrustDomainServiceTest, CreateRefusesUserInfoInTheBundleUrlAsSpireDoes) {
  auto resp = Create({Web("u.org", "https://user@u.org/bundle"), Web("p.org", "https://user:secret@p.org:8443"),
                      Web("q.org", "https://:secret@q.org"), Web("r.org", "https://user@/bundle")});
  ASSERT_EQ(resp.results_size(), 4);
  EXPECT_EQ(resp.results(3).status().message(),
            "failed to convert federation relationship: bundle endpoint URL must specify the host");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(resp.results(i).status().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT)) << i;
    EXPECT_EQ(resp.results(i).status().message(),
              "failed to convert federation relationship: bundle endpoint URL must not contain user info")
        << i;
  }
  trustdomainv1::ListFederationRelationshipsRequest list;
  trustdomainv1::ListFederationRelationshipsResponse all;
  ASSERT_TRUE(svc_->ListFederationRelationships(nullptr, &list, &all).ok());
  EXPECT_EQ(all.federation_relationships_size(), 0) << "nothing stored";
}

TEST_F(TrustDomainServiceTest, GetUpdateDeleteAndRefresh) {
  ASSERT_EQ(Create({Web("web.org", "https://web.org")}).results(0).status().code(), 0);
  trustdomainv1::GetFederationRelationshipRequest get;
  get.set_trust_domain("nobody.org");
  sapi::FederationRelationship fr;
  auto st = svc_->GetFederationRelationship(nullptr, &get, &fr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "federation relationship does not exist");

  trustdomainv1::BatchUpdateFederationRelationshipRequest up;
  *up.add_federation_relationships() = Web("web.org", "https://web.org/new");
  *up.add_federation_relationships() = Web("nobody.org", "https://nobody.org");
  up.mutable_input_mask()->set_bundle_endpoint_url(true);
  trustdomainv1::BatchUpdateFederationRelationshipResponse upr;
  ASSERT_TRUE(svc_->BatchUpdateFederationRelationship(nullptr, &up, &upr).ok());
  EXPECT_EQ(upr.results(0).status().code(), 0);
  EXPECT_EQ(upr.results(0).federation_relationship().bundle_endpoint_url(), "https://web.org/new");
  EXPECT_EQ(upr.results(1).status().code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  get.set_trust_domain("web.org");
  ASSERT_TRUE(svc_->GetFederationRelationship(nullptr, &get, &fr).ok());
  EXPECT_EQ(fr.bundle_endpoint_url(), "https://web.org/new");

  trustdomainv1::RefreshBundleRequest refresh;
  refresh.set_trust_domain("nobody.org");
  google::protobuf::Empty empty;
  st = svc_->RefreshBundle(nullptr, &refresh, &empty);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "no relationship with trust domain \"nobody.org\"");

  trustdomainv1::BatchDeleteFederationRelationshipRequest del;
  del.add_trust_domains("web.org");
  del.add_trust_domains("web.org");
  del.add_trust_domains("");
  trustdomainv1::BatchDeleteFederationRelationshipResponse delr;
  ASSERT_TRUE(svc_->BatchDeleteFederationRelationship(nullptr, &del, &delr).ok());
  EXPECT_EQ(delr.results(0).status().code(), 0);
  EXPECT_EQ(delr.results(1).status().message(), "federation relationship not found");
  EXPECT_EQ(delr.results(2).status().message(), "missing trust domain");
}

}  // namespace
}  // namespace spirecvm::server::spireapi
