#include "server/ca/ca_manager.h"

#include <array>
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/files.h"
#include "crypto/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"
#include "spiffe/jwt_svid.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {
namespace {

class CaManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ds = datastore::OpenSqlite({.path = ":memory:"}, clock_);
    ASSERT_TRUE(ds.ok()) << ds.status();
    ds_ = std::move(*ds);
    km_ = NewMemoryKeyManager();
  }
  CaConfig Config(absl::Duration ttl) {
    CaConfig c;
    c.trust_domain = *spiffe::TrustDomain::Parse("example.org");
    c.ca_ttl = ttl;
    c.server_id = "server-1";
    return c;
  }
  std::unique_ptr<CaManager> Make(absl::Duration ttl) {
    auto ca = CaManager::Create(Config(ttl), *km_, *ds_, clock_, rnd_, nullptr);
    EXPECT_TRUE(ca.ok());
    auto st = (*ca)->Initialize();
    EXPECT_TRUE(st.ok()) << st;
    return std::move(*ca);
  }
  std::vector<SlotStatus> X509Statuses(CaManager& ca) {
    std::vector<SlotStatus> out;
    for (auto& s : ca.Summary())
      if (s.kind == "x509") out.push_back(s.status);
    return out;
  }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  TestOnlyDeterministicRandom rnd_{42};
  std::unique_ptr<datastore::DataStore> ds_;
  std::unique_ptr<KeyManager> km_;
};

TEST_F(CaManagerTest, ThresholdsAreSpiresFractions) {
  absl::Time nb = absl::FromUnixSeconds(0), na = absl::FromUnixSeconds(600);
  EXPECT_EQ(PreparationThreshold(nb, na), absl::FromUnixSeconds(300));
  EXPECT_EQ(ActivationThreshold(nb, na), absl::FromUnixSeconds(500));
  // Long lifetimes are capped: prepare at most 30 days, activate at most 7 days before expiry.
  absl::Time long_na = nb + absl::Hours(24 * 365);
  EXPECT_EQ(PreparationThreshold(nb, long_na), long_na - absl::Hours(24 * 30));
  EXPECT_EQ(ActivationThreshold(nb, long_na), long_na - absl::Hours(24 * 7));
}

TEST_F(CaManagerTest, RotatesPreparedActiveOldAndBundleCarriesBothDuringOverlap) {
  auto ca = Make(absl::Seconds(600));
  EXPECT_EQ(X509Statuses(*ca), std::vector<SlotStatus>{SlotStatus::kActive});
  auto b0 = ds_->FetchBundle("example.org");
  ASSERT_TRUE(b0.ok());
  EXPECT_EQ(b0->x509_authorities_der.size(), 1u);
  EXPECT_EQ(b0->jwt_keys.size(), 1u);

  clock_.Advance(absl::Seconds(305));  // past half of the lifetime
  ASSERT_TRUE(ca->Rotate().ok());
  EXPECT_EQ(X509Statuses(*ca), (std::vector<SlotStatus>{SlotStatus::kActive, SlotStatus::kPrepared}));
  auto b1 = ds_->FetchBundle("example.org");
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(b1->x509_authorities_der.size(), 2u) << "the prepared CA is published before it is used";
  EXPECT_GT(b1->sequence_number, b0->sequence_number);

  clock_.Advance(absl::Seconds(200));  // past 5/6
  ASSERT_TRUE(ca->Rotate().ok());
  EXPECT_EQ(X509Statuses(*ca), (std::vector<SlotStatus>{SlotStatus::kOld, SlotStatus::kActive}));

  // New SVIDs come from the new CA, and both CAs are in the bundle during the overlap.
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto id = spiffe::SpiffeId::Parse("spiffe://example.org/w");
  auto svid = ca->SignX509Svid(*crypto::PublicKeyToDer(key->get()), *id, absl::Minutes(1), {});
  ASSERT_TRUE(svid.ok()) << svid.status();
  auto leaf = crypto::ParseCertDer(svid->chain_der[0]);
  auto b2 = ds_->FetchBundle("example.org");
  ASSERT_EQ(b2->x509_authorities_der.size(), 2u);
  auto new_ca = crypto::ParseCertDer(b2->x509_authorities_der[1]);
  EXPECT_EQ(X509_check_issued(new_ca->get(), leaf->get()), X509_V_OK);
  auto old_ca = crypto::ParseCertDer(b2->x509_authorities_der[0]);
  EXPECT_NE(X509_check_issued(old_ca->get(), leaf->get()), X509_V_OK);

  // After the old CA expires it leaves the journal and the pruned bundle.
  clock_.Advance(absl::Seconds(200));
  ASSERT_TRUE(ca->Rotate().ok());
  ASSERT_TRUE(ds_->PruneBundle("example.org", absl::ToUnixSeconds(clock_.Now())).ok());
  auto b3 = ds_->FetchBundle("example.org");
  EXPECT_EQ(X509Statuses(*ca).front(), SlotStatus::kActive);
  for (auto& der : b3->x509_authorities_der) {
    auto c = crypto::ParseCertDer(der);
    EXPECT_GT(crypto::NotAfter(c->get()), clock_.Now());
  }
}

TEST_F(CaManagerTest, RestartKeepsTheSameCaWhenKeysPersist) {
  std::string serial;
  {
    auto ca = Make(absl::Hours(24));
    serial = ca->Summary()[0].id;
  }
  auto ca = Make(absl::Hours(24));  // same DataStore and KeyManager: journal + keys come back
  EXPECT_EQ(ca->Summary()[0].id, serial);
  EXPECT_EQ(ds_->FetchBundle("example.org")->x509_authorities_der.size(), 1u);
}

TEST_F(CaManagerTest, LostKeysMeanANewCaNotAnUnusableOne) {
  { auto ca = Make(absl::Hours(24)); }
  km_ = NewMemoryKeyManager();  // memory KeyManager after a restart: keys are gone
  auto ca = Make(absl::Hours(24));
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto svid = ca->SignX509Svid(*crypto::PublicKeyToDer(key->get()), *spiffe::SpiffeId::Parse("spiffe://example.org/w"),
                               absl::Minutes(1), {});
  EXPECT_TRUE(svid.ok()) << svid.status();
}

TEST_F(CaManagerTest, JwtSvidsVerifyWithThePublishedKey) {
  auto ca = Make(absl::Hours(24));
  auto jwt = ca->SignJwtSvid(*spiffe::SpiffeId::Parse("spiffe://example.org/w"), {"aud1"}, absl::Minutes(5));
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  auto b = ds_->FetchBundle("example.org");
  std::vector<spiffe::JwtKey> keys;
  for (auto& k : b->jwt_keys) keys.push_back({k.kid, *crypto::PublicKeyFromDer(k.public_key_der)});
  auto claims = spiffe::ValidateJwtSvid(jwt->token, keys, "aud1", clock_.Now());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->sub.ToString(), "spiffe://example.org/w");
  EXPECT_FALSE(spiffe::ValidateJwtSvid(jwt->token, keys, "other", clock_.Now()).ok());
  EXPECT_EQ(claims->claims_json.find("\"iss\""), std::string::npos) << "no issuer unless configured";
}

TEST_F(CaManagerTest, JwtIssuerIsTheConfiguredOne) {
  CaConfig c = Config(absl::Hours(24));
  c.jwt_issuer = "https://oidc.example.org";
  auto ca = CaManager::Create(c, *km_, *ds_, clock_, rnd_, nullptr);
  ASSERT_TRUE((*ca)->Initialize().ok());
  auto jwt = (*ca)->SignJwtSvid(*spiffe::SpiffeId::Parse("spiffe://example.org/w"), {"a"}, absl::Minutes(5));
  ASSERT_TRUE(jwt.ok());
  auto claims = spiffe::ParseJwtSvidInsecure(jwt->token);
  ASSERT_TRUE(claims.ok());
  EXPECT_NE(claims->claims_json.find("\"iss\":\"https://oidc.example.org\""), std::string::npos) << claims->claims_json;
}

TEST_F(CaManagerTest, DisableJwtSvidsRefusesSigning) {
  CaConfig c = Config(absl::Hours(24));
  c.disable_jwt_svids = true;
  auto ca = CaManager::Create(c, *km_, *ds_, clock_, rnd_, nullptr);
  ASSERT_TRUE((*ca)->Initialize().ok());
  auto jwt = (*ca)->SignJwtSvid(*spiffe::SpiffeId::Parse("spiffe://example.org/w"), {"a"}, absl::Minutes(5));
  ASSERT_FALSE(jwt.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(jwt.status())) << jwt.status();
  EXPECT_THAT(std::string(jwt.status().message()), ::testing::HasSubstr("JWT functionality is disabled"));
}

TEST_F(CaManagerTest, RefusesIdsOutsideTheTrustDomain) {
  auto ca = Make(absl::Hours(24));
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto svid = ca->SignX509Svid(*crypto::PublicKeyToDer(key->get()), *spiffe::SpiffeId::Parse("spiffe://other.org/w"),
                               absl::Minutes(1), {});
  EXPECT_TRUE(absl::IsInvalidArgument(svid.status()));
}

}  // namespace
}  // namespace spirecvm::server

namespace spirecvm::server {
namespace {

class UpstreamTest : public CaManagerTest {
 protected:
  void WriteUpstream(const std::string& dir, EVP_PKEY* key, X509* cert) {
    ASSERT_TRUE(files::WriteFileAtomic(dir + "/up.crt", crypto::CertToPem(cert), 0644).ok());
    ASSERT_TRUE(files::WriteFileAtomic(dir + "/up.key", *crypto::PrivateKeyToPem(key), 0600).ok());
  }
};

TEST_F(UpstreamTest, DiskUpstreamSignsTheCaAndTheBundleHoldsTheUpstreamRoot) {
  std::string t = std::filesystem::temp_directory_path() / "cvm-up-XXXXXX";
  std::string dir = mkdtemp(t.data());
  auto up_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = *spiffe::TrustDomain::Parse("example.org"),
                     .public_key = nullptr,
                     .not_before = clock_.Now() - absl::Hours(1),
                     .not_after = clock_.Now() + absl::Hours(24 * 30)};
  p.subject_cn = "upstream";
  auto up_cert = spiffe::SelfSignCa(up_key->get(), p, rnd_);
  ASSERT_TRUE(up_cert.ok());
  WriteUpstream(dir, up_key->get(), up_cert->get());
  auto upstream = NewDiskUpstreamAuthority({dir + "/up.crt", dir + "/up.key", ""});
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  auto ca = CaManager::Create(Config(absl::Hours(24)), *km_, *ds_, clock_, rnd_, upstream->get());
  ASSERT_TRUE(ca.ok());
  ASSERT_TRUE((*ca)->Initialize().ok());
  auto b = ds_->FetchBundle("example.org");
  ASSERT_EQ(b->x509_authorities_der.size(), 1u);
  EXPECT_EQ(b->x509_authorities_der[0], crypto::CertToDer(up_cert->get())) << "the bundle publishes the upstream root";
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto svid = (*ca)->SignX509Svid(*crypto::PublicKeyToDer(key->get()),
                                  *spiffe::SpiffeId::Parse("spiffe://example.org/w"), absl::Minutes(5), {});
  ASSERT_TRUE(svid.ok()) << svid.status();
  ASSERT_EQ(svid->chain_der.size(), 2u) << "leaf + the server's intermediate CA";
  std::vector<ssl::X509Ptr> chain;
  for (auto& d : svid->chain_der) chain.push_back(std::move(*crypto::ParseCertDer(d)));
  auto id = spiffe::VerifyX509Svid({chain[0].get(), chain[1].get()}, {up_cert->get()}, clock_.Now());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "spiffe://example.org/w");
  std::filesystem::remove_all(dir);
}

TEST_F(UpstreamTest, MismatchedKeyAndNonCaCertificateAreRefused) {
  std::string t = std::filesystem::temp_directory_path() / "cvm-up-XXXXXX";
  std::string dir = mkdtemp(t.data());
  auto up_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto other_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = *spiffe::TrustDomain::Parse("example.org"),
                     .public_key = nullptr,
                     .not_before = clock_.Now() - absl::Hours(1),
                     .not_after = clock_.Now() + absl::Hours(24)};
  auto up_cert = spiffe::SelfSignCa(up_key->get(), p, rnd_);
  WriteUpstream(dir, other_key->get(), up_cert->get());
  auto upstream = NewDiskUpstreamAuthority({dir + "/up.crt", dir + "/up.key", ""});
  ASSERT_FALSE(upstream.ok());
  EXPECT_NE(std::string(upstream.status().message()).find("does not match"), std::string::npos) << upstream.status();
  auto missing = NewDiskUpstreamAuthority({dir + "/nope.crt", dir + "/up.key", ""});
  EXPECT_FALSE(missing.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::server

namespace spirecvm::server {
namespace {

// SVIDs are signed on gRPC threads while the background loop rotates the CA (prepare, activate, retire) and
// readers list the authorities: every SVID signed during the rotation verifies against the bundle published at
// its signing time or after (this suite also runs under ThreadSanitizer, `make test-tsan`).
TEST_F(CaManagerTest, SigningWhileRotating) {
  auto ca = Make(absl::Seconds(600));
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto id = spiffe::SpiffeId::Parse("spiffe://example.org/w");
  ASSERT_TRUE(id.ok());
  constexpr int kSigners = 3;
  std::atomic<bool> done{false};
  std::atomic<int> signed_x509{0}, signed_jwt{0};
  std::array<std::atomic<int>, kSigners> rounds{};  // loop iterations each signer has finished
  std::vector<std::thread> signers;
  for (int t = 0; t < kSigners; ++t) {
    signers.emplace_back([&, t] {
      while (!done.load()) {
        auto x = ca->SignX509Svid(*crypto::PublicKeyToDer(key->get()), *id, absl::Seconds(60), {});
        EXPECT_TRUE(x.ok()) << x.status();
        if (x.ok()) ++signed_x509;
        auto j = ca->SignJwtSvid(*id, {"aud"}, absl::Seconds(60));
        EXPECT_TRUE(j.ok()) << j.status();
        if (j.ok()) ++signed_jwt;
        EXPECT_FALSE(ca->X509Authorities().empty());
        (void)ca->Summary();
        ++rounds[t];
      }
    });
  }
  // A signing call reads the active CA, then the clock. The clock jumps 110 s at a time here, so a signer still
  // holding the CA it read before a rotation must finish before the next jump (in real time a call takes
  // milliseconds, not a CA's remaining life): each signer completes a whole iteration begun after the rotation.
  auto wait_for_every_signer = [&] {
    std::array<int, kSigners> start{};
    for (int t = 0; t < kSigners; ++t) start[t] = rounds[t].load();
    for (int t = 0; t < kSigners; ++t) {
      while (rounds[t].load() < start[t] + 2) std::this_thread::yield();
    }
  };
  for (int step = 0; step < 8; ++step) {
    clock_.Advance(absl::Seconds(110));  // crosses prepare (1/2) and activate (5/6) thresholds several times
    ASSERT_TRUE(ca->Rotate().ok());
    wait_for_every_signer();
  }
  done = true;
  for (auto& t : signers) t.join();
  EXPECT_GT(signed_x509.load(), 0);
  EXPECT_GT(signed_jwt.load(), 0);
}

}  // namespace
}  // namespace spirecvm::server
