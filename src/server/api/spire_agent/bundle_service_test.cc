#include "server/api/spire_agent/bundle_service.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "server/api/limits.h"
#include "server/api/spire_agent/test_fixture.h"

namespace spirecvm::server::spireagent {
namespace {

using BundleServiceTest = SpireAgentApiTest;

// SPIRE's agent calls GetBundle right after AttestAgent, on a connection without a client certificate.
TEST_F(BundleServiceTest, GetBundleNeedsNoCallerIdentity) {
  BundleService svc(Deps());
  bundlev1::GetBundleRequest req;
  sapi::Bundle bundle;
  ASSERT_TRUE(CallUnary([&](auto* ctx) { return svc.GetBundle(ctx, &req, &bundle); }).ok());
  EXPECT_EQ(bundle.trust_domain(), "example.org");
  ASSERT_EQ(bundle.x509_authorities_size(), 1);
  EXPECT_EQ(bundle.x509_authorities(0).asn1(), crypto::CertToDer(ca_->X509Authorities().at(0).get()));
  EXPECT_GE(bundle.jwt_authorities_size(), 1);
}

TEST_F(BundleServiceTest, FederatedBundleNeedsAnAgent) {
  BundleService svc(Deps());
  bundlev1::GetFederatedBundleRequest req;
  req.set_trust_domain("other.org");
  sapi::Bundle bundle;  // CallUnary: no TLS peer
  EXPECT_EQ(CallUnary([&](auto* ctx) { return svc.GetFederatedBundle(ctx, &req, &bundle); }).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

class PublishJwtAuthorityTest : public SpireAgentApiTest {
 protected:
  // A downstream server's JWT authority: a fresh P-256 key's PKIX DER under `kid`.
  bundlev1::PublishJWTAuthorityRequest Request(const std::string& kid) {
    auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    bundlev1::PublishJWTAuthorityRequest req;
    req.mutable_jwt_authority()->set_public_key(*crypto::PublicKeyToDer(key->get()));
    req.mutable_jwt_authority()->set_key_id(kid);
    req.mutable_jwt_authority()->set_expires_at(absl::ToUnixSeconds(clock_.Now() + absl::Hours(1)));
    return req;
  }
  static bool HasKid(const google::protobuf::RepeatedPtrField<sapi::JWTKey>& keys, const std::string& kid) {
    return std::any_of(keys.begin(), keys.end(), [&](const sapi::JWTKey& k) { return k.key_id() == kid; });
  }
};

// SPIRE's root server: the key is appended to its bundle, and the answer lists the bundle's JWT keys after it.
TEST_F(PublishJwtAuthorityTest, DownstreamKeyIsAppendedToOurBundle) {
  AddWorkload("/nested-server", true);
  auto before = ds_->FetchBundle("example.org");
  ASSERT_TRUE(before.ok());
  auto req = Request("nested-kid-1");
  auto resp = PublishJwtAuthority(Deps(), CallerChain("/nested-server"), req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->jwt_authorities_size(), static_cast<int>(before->jwt_keys.size()) + 1);
  for (const auto& k : before->jwt_keys) EXPECT_TRUE(HasKid(resp->jwt_authorities(), k.kid)) << k.kid;
  auto it = std::find_if(resp->jwt_authorities().begin(), resp->jwt_authorities().end(),
                         [](const sapi::JWTKey& k) { return k.key_id() == "nested-kid-1"; });
  ASSERT_NE(it, resp->jwt_authorities().end());
  EXPECT_EQ(it->public_key(), req.jwt_authority().public_key());
  EXPECT_EQ(it->expires_at(), req.jwt_authority().expires_at());

  auto after = ds_->FetchBundle("example.org");
  ASSERT_TRUE(after.ok());
  EXPECT_GT(after->sequence_number, before->sequence_number);
  // GetBundle (the cache every agent reads) has it at once.
  BundleService svc(Deps());
  bundlev1::GetBundleRequest get;
  sapi::Bundle bundle;
  ASSERT_TRUE(CallUnary([&](auto* ctx) { return svc.GetBundle(ctx, &get, &bundle); }).ok());
  EXPECT_TRUE(HasKid(bundle.jwt_authorities(), "nested-kid-1"));

  // Publishing the same key again adds nothing.
  auto again = PublishJwtAuthority(Deps(), CallerChain("/nested-server"), req);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->jwt_authorities_size(), resp->jwt_authorities_size());
}

TEST_F(PublishJwtAuthorityTest, OnlyADownstreamCallerMayPublish) {
  AddWorkload("/plain", false);
  auto plain = PublishJwtAuthority(Deps(), CallerChain("/plain"), Request("k"));
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(plain.status().message(),
            "authorization denied for method /spire.api.server.bundle.v1.Bundle/PublishJWTAuthority");
  auto unregistered = PublishJwtAuthority(Deps(), CallerChain("/nobody"), Request("k"));
  EXPECT_EQ(unregistered.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PublishJwtAuthority(Deps(), "", Request("k")).status().code(), absl::StatusCode::kUnauthenticated);
  auto bundle = ds_->FetchBundle("example.org");
  ASSERT_TRUE(bundle.ok());
  EXPECT_TRUE(std::none_of(bundle->jwt_keys.begin(), bundle->jwt_keys.end(), [](const datastore::JwtKeyRecord& k) {
    return k.kid == "k";
  })) << "nothing published by a refused caller";

  // Over gRPC without a TLS peer: Unauthenticated.
  BundleService svc(Deps());
  auto req = Request("k");
  bundlev1::PublishJWTAuthorityResponse resp;
  EXPECT_EQ(CallUnary([&](auto* ctx) { return svc.PublishJWTAuthority(ctx, &req, &resp); }).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(PublishJwtAuthorityTest, MalformedAuthoritiesAreRefusedWithSpiresMessages) {
  AddWorkload("/nested-server", true);
  const std::string chain = CallerChain("/nested-server");
  bundlev1::PublishJWTAuthorityRequest none;
  auto missing = PublishJwtAuthority(Deps(), chain, none);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "missing JWT authority");

  auto no_kid = Request("");
  auto r1 = PublishJwtAuthority(Deps(), chain, no_kid);
  EXPECT_EQ(r1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r1.status().message(), "invalid JWT authority: missing key ID");

  auto bad_key = Request("kid");
  bad_key.mutable_jwt_authority()->set_public_key("not a PKIX key");
  auto r2 = PublishJwtAuthority(Deps(), chain, bad_key);
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r2.status().message()), ::testing::StartsWith("invalid JWT authority: "));

  auto huge = Request("kid");
  huge.mutable_jwt_authority()->set_public_key(std::string(kMaxJwtAuthorityKey + 1, 'x'));
  EXPECT_EQ(PublishJwtAuthority(Deps(), chain, huge).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spirecvm::server::spireagent
