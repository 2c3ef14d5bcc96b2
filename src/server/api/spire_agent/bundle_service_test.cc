#include "server/api/spire_agent/bundle_service.h"

#include "server/api/spire_agent/test_fixture.h"

namespace spirecvm::server::spireagent {
namespace {

using BundleServiceTest = SpireAgentApiTest;

// SPIRE's agent calls GetBundle right after AttestAgent, on a connection without a client certificate.
TEST_F(BundleServiceTest, GetBundleNeedsNoCallerIdentity) {
  BundleService svc(Deps());
  grpc::ServerContext ctx;
  bundlev1::GetBundleRequest req;
  sapi::Bundle bundle;
  ASSERT_TRUE(svc.GetBundle(&ctx, &req, &bundle).ok());
  EXPECT_EQ(bundle.trust_domain(), "example.org");
  ASSERT_EQ(bundle.x509_authorities_size(), 1);
  EXPECT_EQ(bundle.x509_authorities(0).asn1(), crypto::CertToDer(ca_->X509Authorities().at(0).get()));
  EXPECT_GE(bundle.jwt_authorities_size(), 1);
}

TEST_F(BundleServiceTest, FederatedBundleNeedsAnAgent) {
  BundleService svc(Deps());
  grpc::ServerContext ctx;  // no TLS peer
  bundlev1::GetFederatedBundleRequest req;
  req.set_trust_domain("other.org");
  sapi::Bundle bundle;
  EXPECT_EQ(svc.GetFederatedBundle(&ctx, &req, &bundle).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace spirecvm::server::spireagent
