// SPIRE's SVID service (admin methods) called directly: minted SVIDs chain to our CA.
#include "server/api/spire/svid_service.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/spire/test_fixture.h"
#include "spiffe/jwt_svid.h"

namespace spirecvm::server::spireapi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A CSR like SPIRE's `x509 mint` makes: subjectAltName with the URI and DNS names.
std::string CsrWithSans(EVP_PKEY* key, const std::string& san) {
  ssl::X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req.get(), key, EVP_sha256());
  unsigned char* der = nullptr;
  int n = i2d_X509_REQ(req.get(), &der);
  std::string out(reinterpret_cast<char*>(der), n);
  OPENSSL_free(der);
  return out;
}

std::vector<std::string> DnsSans(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

class SvidServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    svc_ = std::make_unique<SvidService>(
        SvidServiceDeps{.trust_domain = td_,
                        .ca = *ca_,
                        .metrics = metrics_,
                        .ttls = {.agent = absl::Hours(1), .x509 = absl::Minutes(30), .jwt = absl::Minutes(5)}});
  }
  std::unique_ptr<SvidService> svc_;
};

TEST_F(SvidServiceTest, MintX509SvidWithDnsNamesChainsToOurCa) {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  svidv1::MintX509SVIDRequest req;
  req.set_csr(CsrWithSans(key->get(), "URI:spiffe://example.org/minted,DNS:a.example.org,DNS:b.example.org"));
  req.set_ttl(600);
  svidv1::MintX509SVIDResponse resp;
  auto st = svc_->MintX509SVID(nullptr, &req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.svid().id().trust_domain(), "example.org");
  EXPECT_EQ(resp.svid().id().path(), "/minted");
  EXPECT_EQ(resp.svid().expires_at(), 1'800'000'600);
  ASSERT_GE(resp.svid().cert_chain_size(), 1);
  auto leaf = crypto::ParseCertDer(resp.svid().cert_chain(0));
  ASSERT_TRUE(leaf.ok());
  EXPECT_THAT(crypto::UriSans(leaf->get()), ElementsAre("spiffe://example.org/minted"));
  EXPECT_THAT(DnsSans(leaf->get()), ElementsAre("a.example.org", "b.example.org"));
  auto roots = ca_->X509Authorities();
  ASSERT_FALSE(roots.empty());
  EXPECT_EQ(X509_check_issued(roots.front().get(), leaf->get()), X509_V_OK);
  EXPECT_EQ(metrics_.x509_svids_minted.load(), 1u);
}

TEST_F(SvidServiceTest, MintX509SvidRefusals) {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  svidv1::MintX509SVIDRequest req;
  svidv1::MintX509SVIDResponse resp;
  req.set_csr("garbage");
  EXPECT_THAT(svc_->MintX509SVID(nullptr, &req, &resp).error_message(), HasSubstr("malformed CSR"));
  req.set_csr(*crypto::CreateCsr(key->get(), std::nullopt));
  EXPECT_EQ(svc_->MintX509SVID(nullptr, &req, &resp).error_message(), "CSR URI SAN is required");
  req.set_csr(CsrWithSans(key->get(), "URI:spiffe://example.org/a,URI:spiffe://example.org/b"));
  EXPECT_EQ(svc_->MintX509SVID(nullptr, &req, &resp).error_message(), "only one URI SAN is expected");
  req.set_csr(*crypto::CreateCsr(key->get(), "spiffe://other.org/w"));
  EXPECT_THAT(svc_->MintX509SVID(nullptr, &req, &resp).error_message(), HasSubstr("CSR URI SAN is invalid"));
  req.set_csr(*crypto::CreateCsr(key->get(), "spiffe://example.org/spire/agent/x"));
  EXPECT_THAT(svc_->MintX509SVID(nullptr, &req, &resp).error_message(), HasSubstr("reserved"));
}

TEST_F(SvidServiceTest, MintJwtSvid) {
  svidv1::MintJWTSVIDRequest req;
  *req.mutable_id() = Id("example.org", "/jwt");
  req.add_audience("db");
  req.add_audience("cache");
  svidv1::MintJWTSVIDResponse resp;
  ASSERT_TRUE(svc_->MintJWTSVID(nullptr, &req, &resp).ok());
  EXPECT_EQ(resp.svid().id().path(), "/jwt");
  EXPECT_EQ(resp.svid().issued_at(), 1'800'000'000);
  EXPECT_EQ(resp.svid().expires_at(), 1'800'000'300) << "default JWT TTL";
  auto claims = spiffe::ParseJwtSvidInsecure(resp.svid().token());
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->sub.ToString(), "spiffe://example.org/jwt");
  EXPECT_THAT(claims->audience, ElementsAre("db", "cache"));
  req.clear_audience();
  EXPECT_EQ(svc_->MintJWTSVID(nullptr, &req, &resp).error_message(), "at least one audience is required");
  req.add_audience("db");
  *req.mutable_id() = Id("other.org", "/jwt");
  EXPECT_THAT(svc_->MintJWTSVID(nullptr, &req, &resp).error_message(), HasSubstr("invalid SPIFFE ID"));
}

// Agent and downstream calls are refused to local callers, as SPIRE's policy does.
TEST_F(SvidServiceTest, AgentAndDownstreamCallsAreRefusedOnTheAdminSocket) {
  svidv1::BatchNewX509SVIDRequest batch;
  svidv1::BatchNewX509SVIDResponse batched;
  grpc::Status st = svc_->BatchNewX509SVID(nullptr, &batch, &batched);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "authorization denied for method /spire.api.server.svid.v1.SVID/BatchNewX509SVID");
  svidv1::NewJWTSVIDRequest jwt;
  svidv1::NewJWTSVIDResponse jwt_resp;
  EXPECT_EQ(svc_->NewJWTSVID(nullptr, &jwt, &jwt_resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  svidv1::NewDownstreamX509CARequest ca;
  svidv1::NewDownstreamX509CAResponse ca_resp;
  st = svc_->NewDownstreamX509CA(nullptr, &ca, &ca_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "authorization denied for method /spire.api.server.svid.v1.SVID/NewDownstreamX509CA");
}

}  // namespace
}  // namespace spirecvm::server::spireapi
