// The bundle endpoint and the fetching client against each other over real TLS on loopback, both profiles.
#include "server/federation/bundle_endpoint.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/federation/bundle_fetch.h"
#include "server/federation/bundle_refresher.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server::federation {
namespace {

spiffe::TrustDomain Td(const char* s) { return *spiffe::TrustDomain::Parse(s); }

// A trust domain's CA and an X509-SVID from it, written to files.
struct Pki {
  ssl::EvpPkeyPtr ca_key, leaf_key;
  ssl::X509Ptr ca, leaf;
  std::string cert_path, key_path, ca_path;
};

Pki MakePki(const std::string& dir, const spiffe::TrustDomain& td, const std::string& leaf_path, Random& rnd) {
  Pki p;
  const absl::Time now = absl::Now();
  p.ca_key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  p.ca = *spiffe::SelfSignCa(
      p.ca_key.get(), {.trust_domain = td, .not_before = now - absl::Hours(1), .not_after = now + absl::Hours(2)}, rnd);
  p.leaf_key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  p.leaf = *spiffe::SignX509Svid({p.ca.get(), p.ca_key.get()},
                                 {.id = *spiffe::SpiffeId::FromPath(td, leaf_path),
                                  .public_key = p.leaf_key.get(),
                                  .not_before = now - absl::Minutes(1),
                                  .not_after = now + absl::Hours(1),
                                  .dns_names = {"localhost"}},
                                 rnd);
  p.cert_path = dir + "/" + td.name() + ".pem";
  p.key_path = dir + "/" + td.name() + ".key";
  p.ca_path = dir + "/" + td.name() + "-ca.pem";
  EXPECT_TRUE(files::WriteFileAtomic(p.cert_path, crypto::CertToPem(p.leaf.get()), 0600).ok());
  EXPECT_TRUE(files::WriteFileAtomic(p.key_path, *crypto::PrivateKeyToPem(p.leaf_key.get()), 0600).ok());
  EXPECT_TRUE(files::WriteFileAtomic(p.ca_path, crypto::CertToPem(p.ca.get()), 0600).ok());
  return p;
}

class BundleEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = ::testing::TempDir() + "/fedXXXXXX";
    ASSERT_NE(mkdtemp(t.data()), nullptr);
    dir_ = t;
    ds_ = *datastore::OpenSqlite({.path = ":memory:"}, clock_);
    pki_ = MakePki(dir_, Td("example.org"), "/spire/server", rnd_);
    auto jwt_key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
    datastore::BundleRecord ours{
        .trust_domain = "example.org",
        .x509_authorities_der = {crypto::CertToDer(pki_.ca.get())},
        .jwt_keys = {{.kid = "kid1", .public_key_der = *crypto::PublicKeyToDer(jwt_key.get())}},
        .sequence_number = 7};
    ASSERT_TRUE(ds_->CreateBundle(ours).ok());
  }

  std::unique_ptr<BundleEndpoint> StartEndpoint(BundleEndpointConfig cfg) {
    cfg.address = "127.0.0.1";
    cfg.port = 0;
    cfg.refresh_hint = absl::Seconds(42);
    auto ep = BundleEndpoint::Start({.ds = *ds_,
                                     .trust_domain = Td("example.org"),
                                     .cfg = cfg,
                                     .svid_cert_path = pki_.cert_path,
                                     .svid_key_path = pki_.key_path});
    EXPECT_TRUE(ep.ok()) << ep.status();
    return ep.ok() ? *std::move(ep) : nullptr;
  }

  FetchRequest SpiffeRequest(int port, std::string endpoint_id) {
    return {.relationship = {.trust_domain = Td("example.org"),
                             .bundle_endpoint_url = absl::StrCat("https://127.0.0.1:", port),
                             .profile = BundleEndpointProfile::kHttpsSpiffe,
                             .endpoint_spiffe_id = std::move(endpoint_id)},
            .roots_der = {crypto::CertToDer(pki_.ca.get())},
            .now = absl::Now(),
            .timeout = absl::Seconds(5)};
  }

  std::string dir_;
  FakeClock clock_{absl::Now()};
  TestOnlyDeterministicRandom rnd_{7};
  std::unique_ptr<datastore::DataStore> ds_;
  Pki pki_;
};

TEST_F(BundleEndpointTest, HttpsSpiffeServesOurBundleToTheRightPeer) {
  auto ep = StartEndpoint({});
  ASSERT_NE(ep, nullptr);
  auto b = FetchFederatedBundle(SpiffeRequest(ep->port(), "spiffe://example.org/spire/server"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->trust_domain.name(), "example.org");
  ASSERT_EQ(b->x509_authorities_der.size(), 1u);
  EXPECT_EQ(b->x509_authorities_der[0], crypto::CertToDer(pki_.ca.get()));
  ASSERT_EQ(b->jwt_authorities.size(), 1u);
  EXPECT_EQ(b->jwt_authorities[0].kid, "kid1");
  EXPECT_EQ(b->sequence_number, 7u);
  EXPECT_EQ(b->refresh_hint_seconds, 42);
}

TEST_F(BundleEndpointTest, HttpsSpiffeRefusesAWrongIdOrUntrustedServer) {
  auto ep = StartEndpoint({});
  ASSERT_NE(ep, nullptr);
  auto wrong_id = FetchFederatedBundle(SpiffeRequest(ep->port(), "spiffe://example.org/other"));
  EXPECT_EQ(wrong_id.status().code(), absl::StatusCode::kPermissionDenied) << wrong_id.status();
  EXPECT_NE(wrong_id.status().message().find("want \"spiffe://example.org/other\""), std::string::npos);

  Pki stranger = MakePki(dir_, Td("example.org"), "/x", rnd_);  // same domain name, another CA
  FetchRequest req = SpiffeRequest(ep->port(), "spiffe://example.org/spire/server");
  req.roots_der = {crypto::CertToDer(stranger.ca.get())};
  auto untrusted = FetchFederatedBundle(req);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kPermissionDenied) << untrusted.status();
}

TEST_F(BundleEndpointTest, HttpsWebUsesTheWebPkiAndTheHostName) {
  Pki web = MakePki(dir_, Td("web.test"), "/web", rnd_);
  BundleEndpointConfig cfg{
      .profile = BundleEndpointProfile::kHttpsWeb, .web_cert_file = web.cert_path, .web_key_file = web.key_path};
  auto ep = StartEndpoint(cfg);
  ASSERT_NE(ep, nullptr);
  FetchRequest req{.relationship = {.trust_domain = Td("example.org"),
                                    .bundle_endpoint_url = absl::StrCat("https://localhost:", ep->port(), "/"),
                                    .profile = BundleEndpointProfile::kHttpsWeb},
                   .now = absl::Now(),
                   .timeout = absl::Seconds(5)};
  const char* old = getenv("SSL_CERT_FILE");
  std::string saved = old ? old : "";
  setenv("SSL_CERT_FILE", pki_.ca_path.c_str(), 1);  // a CA that did not sign the web certificate
  auto untrusted = FetchFederatedBundle(req);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kPermissionDenied) << untrusted.status();
  setenv("SSL_CERT_FILE", web.ca_path.c_str(), 1);
  auto b = FetchFederatedBundle(req);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->x509_authorities_der[0], crypto::CertToDer(pki_.ca.get()));
  req.relationship.bundle_endpoint_url = absl::StrCat("https://127.0.0.1:", ep->port(), "/");  // not in the cert
  EXPECT_EQ(FetchFederatedBundle(req).status().code(), absl::StatusCode::kPermissionDenied);
  if (old)
    setenv("SSL_CERT_FILE", saved.c_str(), 1);
  else
    unsetenv("SSL_CERT_FILE");
}

TEST_F(BundleEndpointTest, HttpsWebRefusesAKeyThatIsNotTheCertificates) {
  Pki web = MakePki(dir_, Td("web.test"), "/web", rnd_);
  auto ep = BundleEndpoint::Start({.ds = *ds_,
                                   .trust_domain = Td("example.org"),
                                   .cfg = {.address = "127.0.0.1",
                                           .port = 0,
                                           .profile = BundleEndpointProfile::kHttpsWeb,
                                           .web_cert_file = web.cert_path,
                                           .web_key_file = pki_.key_path},
                                   .svid_cert_path = "",
                                   .svid_key_path = ""});
  ASSERT_FALSE(ep.ok());
  EXPECT_NE(ep.status().message().find("does not hold the private key"), std::string::npos) << ep.status();
}

// The refresher stores what the other domain's endpoint serves, authenticating it with the bootstrap bundle, and
// picks up the next bundle the endpoint serves.
TEST_F(BundleEndpointTest, RefresherStoresAndUpdatesTheFederatedBundle) {
  auto ep = StartEndpoint({});
  ASSERT_NE(ep, nullptr);
  // A second server's store, federating with example.org (served by ep).
  auto peer_ds = *datastore::OpenSqlite({.path = ":memory:"}, clock_);
  FederationRelationship rel{.trust_domain = Td("example.org"),
                             .bundle_endpoint_url = absl::StrCat("https://127.0.0.1:", ep->port()),
                             .profile = BundleEndpointProfile::kHttpsSpiffe,
                             .endpoint_spiffe_id = "spiffe://example.org/spire/server"};
  BundleRefresher refresher(
      {.ds = *peer_ds, .clock = clock_, .relationships = [rel] { return std::vector<FederationRelationship>{rel}; }});
  refresher.Tick();  // no bootstrap bundle yet: nothing stored
  EXPECT_TRUE(absl::IsNotFound(peer_ds->FetchBundle("example.org").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(refresher.RefreshNow("example.org")));

  ASSERT_TRUE(peer_ds
                  ->SetBundle({.trust_domain = "example.org",
                               .x509_authorities_der = {crypto::CertToDer(pki_.ca.get())},
                               .jwt_keys = {},
                               .sequence_number = 1})
                  .ok());
  ASSERT_TRUE(refresher.RefreshNow("example.org").ok());
  auto stored = peer_ds->FetchBundle("example.org");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->sequence_number, 7u);
  EXPECT_EQ(stored->jwt_keys.size(), 1u);
  EXPECT_EQ(stored->refresh_hint_seconds, 42);
  EXPECT_EQ(refresher.NextRefresh("example.org"), clock_.Now() + absl::Seconds(42));

  // example.org adds an authority; it reaches the peer at the next due refresh, not before.
  auto next_ca_key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto next_ca = *spiffe::SelfSignCa(next_ca_key.get(),
                                     {.trust_domain = Td("example.org"),
                                      .not_before = absl::Now() - absl::Hours(1),
                                      .not_after = absl::Now() + absl::Hours(2)},
                                     rnd_);
  ASSERT_TRUE(ds_->AppendBundle({.trust_domain = "example.org",
                                 .x509_authorities_der = {crypto::CertToDer(next_ca.get())},
                                 .jwt_keys = {}})
                  .ok());
  refresher.Tick();
  EXPECT_EQ(peer_ds->FetchBundle("example.org")->x509_authorities_der.size(), 1u);
  clock_.Advance(absl::Seconds(43));
  refresher.Tick();
  auto updated = peer_ds->FetchBundle("example.org");
  ASSERT_EQ(updated->x509_authorities_der.size(), 2u);
  EXPECT_EQ(updated->x509_authorities_der[1], crypto::CertToDer(next_ca.get()));
  EXPECT_EQ(updated->sequence_number, 8u);
  EXPECT_TRUE(absl::IsNotFound(refresher.RefreshNow("nobody.org")));
}

TEST(BundleFetch, ParsesUrlsAndHttpAnswers) {
  auto u = ParseBundleUrl("https://[::1]:8443/bundle");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->path, "/bundle");
  EXPECT_EQ(ParseBundleUrl("https://h")->port, "443");
  EXPECT_FALSE(ParseBundleUrl("http://h").ok());
  EXPECT_FALSE(ParseBundleUrl("https://h:99999").ok());
  // A user name would otherwise have been read as the host, and "user:secret" as a host and a port.
  EXPECT_THAT(ParseBundleUrl("https://user@h/").status().message(), ::testing::HasSubstr("has user info"));
  EXPECT_THAT(ParseBundleUrl("https://user:secret@h:8443/").status().message(), ::testing::HasSubstr("has user info"));
  EXPECT_EQ(*ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx"), "{}");
  EXPECT_EQ(
      *ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n1;x\r\n}\r\n0\r\n\r\n"),
      "{\"}");
  EXPECT_TRUE(absl::IsUnavailable(ParseHttpResponse("HTTP/1.1 404 Not Found\r\n\r\n").status()));
  EXPECT_TRUE(absl::IsUnavailable(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").status()));
  EXPECT_TRUE(
      absl::IsUnavailable(ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").status()));
}

}  // namespace
}  // namespace spirecvm::server::federation
