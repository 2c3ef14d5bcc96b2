#include "server/api/spire_agent/svid_service.h"

#include "crypto/x509.h"
#include "cvm/facts_extension.h"
#include "cvm/testing.h"
#include "gmock/gmock.h"
#include "nlohmann/json.hpp"
#include "openssl/x509v3.h"
#include "server/api/spire_agent/test_fixture.h"
#include "server/api/svid_signing.h"
#include "spiffe/jwt_svid.h"

namespace spirecvm::server::spireagent {
namespace {

class SvidServiceTest : public SpireAgentApiTest {
 protected:
  void SetUp() override {
    SpireAgentApiTest::SetUp();
    auto e = AddEntry("/web", "spiffe://example.org/spire/agent/x/1");
    entries_by_id_[e.id] = MakeCachedEntry(e);
    entry_id_ = e.id;
  }
  svidv1::BatchNewX509SVIDResponse::Result Mint(const std::string& entry_id, const std::string& csr) {
    svidv1::NewX509SVIDParams p;
    p.set_entry_id(entry_id);
    p.set_csr(csr);
    return NewX509SvidResult(Deps(), entries_by_id_, p, node_);
  }
  absl::StatusOr<cvm::NodeFacts> LeafFacts(const svidv1::BatchNewX509SVIDResponse::Result& r) {
    auto leaf = crypto::ParseCertDer(r.svid().cert_chain(0));
    if (!leaf.ok()) return leaf.status();
    return cvm::PeerFacts(leaf->get());
  }

  std::map<std::string, EntryPtr, std::less<>> entries_by_id_;
  std::string entry_id_;
  const datastore::AttestedNode* node_ = nullptr;
};

TEST_F(SvidServiceTest, WorkloadSvidsCarryTheNodesFactsOnlyWhenItsAttestorSaysSo) {
  datastore::AttestedNode node;
  node.spiffe_id = "spiffe://example.org/spire/agent/x/1";
  node.attestation_type = "scripted";
  node.facts = *cvm::EncodeNodeFacts(cvm::SampleFacts());
  node_ = &node;
  auto off = Mint(entry_id_, Csr());
  ASSERT_EQ(off.status().code(), 0) << off.status().message();
  EXPECT_TRUE(absl::IsNotFound(LeafFacts(off).status()));

  scripted_->facts_in_workload_svids = true;
  auto on = Mint(entry_id_, Csr());
  ASSERT_EQ(on.status().code(), 0) << on.status().message();
  auto facts = LeafFacts(on);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(*facts, cvm::SampleFacts());
  EXPECT_EQ(VerifiedId(on.svid()), "spiffe://example.org/web");  // still a valid X509-SVID

  auto jwt = SignEntryJwtSvid(Deps(), *entries_by_id_[entry_id_], {"aud"}, &node);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  auto claims = spiffe::ParseJwtSvidInsecure(jwt->token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  auto j = nlohmann::json::parse(claims->claims_json);
  EXPECT_EQ(j["cvm"]["measurement"].get<std::string>().size(), 96u);
  EXPECT_EQ(j["cvm"]["signing_key"], "VLEK");
  EXPECT_EQ(j["cvm"]["aws"]["region"], "eu-west-1");

  // A node whose attestor derives no facts (join_token) gets none, whatever the setting.
  node.attestation_type = "join_token";
  auto jt = Mint(entry_id_, Csr());
  EXPECT_TRUE(absl::IsNotFound(LeafFacts(jt).status()));
  node.facts.clear();
  node.attestation_type = "scripted";
  EXPECT_TRUE(absl::IsNotFound(LeafFacts(Mint(entry_id_, Csr())).status()));
}

TEST_F(SvidServiceTest, AuthorizedEntryGetsItsSvidWithStatusOk) {
  auto r = Mint(entry_id_, Csr());
  EXPECT_EQ(r.status().code(), 0);
  EXPECT_EQ(r.status().message(), "OK");
  EXPECT_EQ(r.svid().id().path(), "/web");
  EXPECT_EQ(VerifiedId(r.svid()), "spiffe://example.org/web");
  EXPECT_EQ(r.svid().expires_at(), 1'800'000'000 + 3600);  // the default X.509 TTL
  EXPECT_EQ(metrics_.x509_svids_minted.load(), 1u);
}

TEST_F(SvidServiceTest, EachFailureHasItsOwnStatus) {
  auto missing_id = Mint("", Csr());
  EXPECT_EQ(missing_id.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(missing_id.status().message(), "missing entry ID");
  auto missing_csr = Mint(entry_id_, "");
  EXPECT_EQ(missing_csr.status().message(), "missing CSR");
  auto not_authorized = Mint("someone-elses-entry", Csr());
  EXPECT_EQ(not_authorized.status().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(not_authorized.status().message(), "entry not found or not authorized");
  auto bad_csr = Mint(entry_id_, "not a CSR");
  EXPECT_EQ(bad_csr.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(bad_csr.has_svid());
}

// A CSR for `key` whose extensionRequest asks for basicConstraints CA:TRUE.
std::string CaCsr(EVP_PKEY* key) {
  ssl::X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE"));
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  EXPECT_GT(X509_REQ_sign(req.get(), key, EVP_sha256()), 0);
  unsigned char* der = nullptr;
  int n = i2d_X509_REQ(req.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// Attack suite, csr-asks-for-a-ca / csr-asks-for-a-foreign-id: refused with the reason, no SVID, nothing minted.
TEST_F(SvidServiceTest, CsrAskingForACaOrAnotherIdIsRefused) {
  for (auto kt : {crypto::KeyType::kEcP256, crypto::KeyType::kRsa2048}) {  // the fast EC parser and OpenSSL's
    auto key = *crypto::GenerateKey(kt);
    auto ca = Mint(entry_id_, CaCsr(key.get()));
    EXPECT_EQ(ca.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(ca.status().message(), ::testing::HasSubstr("asks for a CA certificate"));
    EXPECT_FALSE(ca.has_svid());
    auto foreign = Mint(entry_id_, *crypto::CreateCsr(key.get(), std::string("spiffe://evil.org/admin")));
    EXPECT_EQ(foreign.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(foreign.status().message(), ::testing::HasSubstr("asks for SPIFFE ID \"spiffe://evil.org/admin\""));
    EXPECT_FALSE(foreign.has_svid());
    auto own = Mint(entry_id_, *crypto::CreateCsr(key.get(), std::string("spiffe://example.org/web")));
    EXPECT_EQ(own.status().code(), 0) << own.status().message();
  }
  EXPECT_EQ(metrics_.x509_svids_minted.load(), 2u);
}

TEST_F(SvidServiceTest, MintMethodsArePermissionDeniedOnTheAgentEndpoint) {
  SvidService svc(Deps());
  svidv1::MintX509SVIDResponse resp;
  EXPECT_EQ(CallUnary([&](auto* ctx) { return svc.MintX509SVID(ctx, nullptr, &resp); }).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

class DownstreamTest : public SpireAgentApiTest {
 protected:
  svidv1::NewDownstreamX509CARequest Request(int32_t preferred_ttl = 0) {
    svidv1::NewDownstreamX509CARequest req;
    req.set_csr(Csr());
    req.set_preferred_ttl(preferred_ttl);
    return req;
  }
};

TEST_F(DownstreamTest, DownstreamWorkloadGetsACaSignedByOurs) {
  AddWorkload("/nested-server", true);
  auto resp = NewDownstreamX509Ca(Deps(), CallerChain("/nested-server"), Request(600));
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->ca_cert_chain_size(), 1);
  auto ca = crypto::ParseCertDer(resp->ca_cert_chain(0));
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(X509_check_ca(ca->get()), 1);
  EXPECT_EQ(crypto::UriSans(ca->get()), std::vector<std::string>{"spiffe://example.org"});
  EXPECT_EQ(X509_check_private_key(ca->get(), key_.get()), 1) << "for the CSR's key";
  EXPECT_EQ(crypto::NotAfter(ca->get()), clock_.Now() + absl::Seconds(600));
  auto ours = ca_->X509Authorities();
  ASSERT_EQ(ours.size(), 1u);
  EXPECT_EQ(X509_verify(ca->get(), X509_get0_pubkey(ours[0].get())), 1) << "signed by our active CA";
  ASSERT_EQ(resp->x509_authorities_size(), 1);
  EXPECT_EQ(resp->x509_authorities(0), crypto::CertToDer(ours[0].get()));

  // Without a preferred TTL: the CA's TTL, capped at our CA's own expiry.
  auto dflt = NewDownstreamX509Ca(Deps(), CallerChain("/nested-server"), Request());
  ASSERT_TRUE(dflt.ok()) << dflt.status();
  EXPECT_EQ(crypto::NotAfter(crypto::ParseCertDer(dflt->ca_cert_chain(0))->get()), crypto::NotAfter(ours[0].get()));
}

TEST_F(DownstreamTest, OnlyARegisteredDownstreamWorkloadIsServed) {
  AddWorkload("/plain", false);
  auto plain = NewDownstreamX509Ca(Deps(), CallerChain("/plain"), Request());
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(plain.status().message(),
            "authorization denied for method /spire.api.server.svid.v1.SVID/NewDownstreamX509CA");
  auto unregistered = NewDownstreamX509Ca(Deps(), CallerChain("/nobody"), Request());
  EXPECT_EQ(unregistered.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(NewDownstreamX509Ca(Deps(), "", Request()).status().code(), absl::StatusCode::kUnauthenticated);

  // A chain from another CA does not verify against our bundle.
  AddWorkload("/nested-server", true);
  auto other_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = td_,
                     .public_key = nullptr,
                     .not_before = clock_.Now() - absl::Hours(1),
                     .not_after = clock_.Now() + absl::Hours(1)};
  auto other_ca = spiffe::SelfSignCa(other_key->get(), p, rnd_);
  ASSERT_TRUE(other_ca.ok());
  auto leaf = spiffe::SignX509Svid(spiffe::CaSigner{other_ca->get(), other_key->get()},
                                   {.id = *spiffe::SpiffeId::Parse("spiffe://example.org/nested-server"),
                                    .public_key = key_.get(),
                                    .not_before = clock_.Now() - absl::Minutes(1),
                                    .not_after = clock_.Now() + absl::Minutes(10)},
                                   rnd_);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto forged = NewDownstreamX509Ca(Deps(), crypto::CertToPem(leaf->get()), Request());
  EXPECT_EQ(forged.status().code(), absl::StatusCode::kUnauthenticated);

  svidv1::NewDownstreamX509CARequest bad_csr;
  bad_csr.set_csr("not a CSR");
  auto bad = NewDownstreamX509Ca(Deps(), CallerChain("/nested-server"), bad_csr);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("malformed CSR"));
}

}  // namespace
}  // namespace spirecvm::server::spireagent
