// SPIRE's Bundle service (read methods) called directly: our trust domain's bundle as the CA published it.
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
    svc_ = std::make_unique<BundleService>(BundleServiceDeps{.trust_domain = td_, .ds = *ds_});
  }
  std::unique_ptr<BundleService> svc_;
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

TEST_F(BundleServiceTest, NoFederatedBundles) {
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

}  // namespace
}  // namespace spirecvm::server::spireapi
