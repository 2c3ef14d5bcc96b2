// SPIRE's LocalAuthority service called directly: forced rotation of the X.509 CA and the JWT key (prepare, activate,
// taint, revoke) with SPIRE's checks, the bundle marking and dropping authorities, and the upstream variants.
#include "server/api/spire/localauthority_service.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "common/files.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/api/spire/test_fixture.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server::spireapi {
namespace {

using ::testing::HasSubstr;

MATCHER_P2(IsGrpc, code, substr, "") {
  *result_listener << "status " << arg.error_code() << " \"" << arg.error_message() << "\"";
  return arg.error_code() == code && arg.error_message().find(substr) != std::string::npos;
}

class LocalAuthorityServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    svc_ = std::make_unique<LocalAuthorityService>(*ca_);
  }

  lav1::GetX509AuthorityStateResponse X509State() {
    lav1::GetX509AuthorityStateRequest req;
    lav1::GetX509AuthorityStateResponse resp;
    EXPECT_TRUE(svc_->GetX509AuthorityState(nullptr, &req, &resp).ok());
    return resp;
  }
  lav1::GetJWTAuthorityStateResponse JwtState() {
    lav1::GetJWTAuthorityStateRequest req;
    lav1::GetJWTAuthorityStateResponse resp;
    EXPECT_TRUE(svc_->GetJWTAuthorityState(nullptr, &req, &resp).ok());
    return resp;
  }
  std::string PrepareX509() {
    lav1::PrepareX509AuthorityRequest req;
    lav1::PrepareX509AuthorityResponse resp;
    EXPECT_TRUE(svc_->PrepareX509Authority(nullptr, &req, &resp).ok());
    return resp.prepared_authority().authority_id();
  }
  std::string PrepareJwt() {
    lav1::PrepareJWTAuthorityRequest req;
    lav1::PrepareJWTAuthorityResponse resp;
    EXPECT_TRUE(svc_->PrepareJWTAuthority(nullptr, &req, &resp).ok());
    return resp.prepared_authority().authority_id();
  }
  grpc::Status ActivateX509(const std::string& id) {
    lav1::ActivateX509AuthorityRequest req;
    req.set_authority_id(id);
    lav1::ActivateX509AuthorityResponse resp;
    return svc_->ActivateX509Authority(nullptr, &req, &resp);
  }
  grpc::Status ActivateJwt(const std::string& id) {
    lav1::ActivateJWTAuthorityRequest req;
    req.set_authority_id(id);
    lav1::ActivateJWTAuthorityResponse resp;
    return svc_->ActivateJWTAuthority(nullptr, &req, &resp);
  }
  grpc::Status TaintX509(const std::string& id) {
    lav1::TaintX509AuthorityRequest req;
    req.set_authority_id(id);
    lav1::TaintX509AuthorityResponse resp;
    return svc_->TaintX509Authority(nullptr, &req, &resp);
  }
  grpc::Status TaintJwt(const std::string& id) {
    lav1::TaintJWTAuthorityRequest req;
    req.set_authority_id(id);
    lav1::TaintJWTAuthorityResponse resp;
    return svc_->TaintJWTAuthority(nullptr, &req, &resp);
  }
  grpc::Status RevokeX509(const std::string& id) {
    lav1::RevokeX509AuthorityRequest req;
    req.set_authority_id(id);
    lav1::RevokeX509AuthorityResponse resp;
    return svc_->RevokeX509Authority(nullptr, &req, &resp);
  }
  grpc::Status RevokeJwt(const std::string& id) {
    lav1::RevokeJWTAuthorityRequest req;
    req.set_authority_id(id);
    lav1::RevokeJWTAuthorityResponse resp;
    return svc_->RevokeJWTAuthority(nullptr, &req, &resp);
  }
  // The subject key ids of the bundle's X.509 authorities, and of those tainted.
  std::vector<std::string> BundleSkids(bool tainted_only = false) {
    auto b = ds_->FetchBundle("example.org");
    EXPECT_TRUE(b.ok());
    std::vector<std::string> out;
    for (const auto& der : tainted_only ? b->tainted_x509_der : b->x509_authorities_der) {
      out.push_back(crypto::SubjectKeyIdHex(crypto::ParseCertDer(der)->get()));
    }
    return out;
  }
  std::vector<std::string> BundleKids(bool tainted_only = false) {
    auto b = ds_->FetchBundle("example.org");
    EXPECT_TRUE(b.ok());
    std::vector<std::string> out;
    for (const auto& k : b->jwt_keys) {
      if (!tainted_only || k.tainted) out.push_back(k.kid);
    }
    return out;
  }
  // The journal's record of a slot, by its status.
  nlohmann::json JournalSlot(const std::string& kind, const std::string& status) {
    auto blob = ds_->FetchCaJournal("s1");
    EXPECT_TRUE(blob.ok());
    const nlohmann::json journal = nlohmann::json::parse(*blob);
    for (const auto& e : journal[kind])
      if (e["status"] == status) return e;
    return nullptr;
  }

  std::unique_ptr<LocalAuthorityService> svc_;
};

TEST_F(LocalAuthorityServiceTest, StateNamesTheActiveAuthoritiesAsSpireDoes) {
  auto x = X509State();
  auto roots = ca_->X509Authorities();
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(x.active().authority_id(), crypto::SubjectKeyIdHex(roots[0].get()));
  EXPECT_THAT(x.active().authority_id(), ::testing::MatchesRegex("[0-9a-f]{40}"));
  EXPECT_EQ(x.active().expires_at(), absl::ToUnixSeconds(crypto::NotAfter(roots[0].get())));
  EXPECT_EQ(x.active().upstream_authority_subject_key_id(), "");
  EXPECT_FALSE(x.has_prepared());
  EXPECT_FALSE(x.has_old());
  auto j = JwtState();
  EXPECT_THAT(BundleKids(), ::testing::ElementsAre(j.active().authority_id()));
  EXPECT_GT(j.active().expires_at(), 0);
  EXPECT_FALSE(j.has_prepared() || j.has_old());
}

TEST_F(LocalAuthorityServiceTest, BeforeTheFirstActivationTheServerIsInitializing) {
  auto fresh_ds = datastore::OpenSqlite({.path = ":memory:"}, clock_, rnd_);
  ASSERT_TRUE(fresh_ds.ok());
  CaConfig cc;
  cc.trust_domain = td_;
  cc.server_id = "s2";
  auto ca = CaManager::Create(cc, *km_, **fresh_ds, clock_, rnd_, nullptr);
  ASSERT_TRUE(ca.ok());
  LocalAuthorityService svc(**ca);
  lav1::GetX509AuthorityStateRequest xr;
  lav1::GetX509AuthorityStateResponse xs;
  EXPECT_THAT(svc.GetX509AuthorityState(nullptr, &xr, &xs), IsGrpc(grpc::StatusCode::UNAVAILABLE, "initializing"));
  lav1::PrepareJWTAuthorityRequest pr;
  lav1::PrepareJWTAuthorityResponse ps;
  EXPECT_THAT(svc.PrepareJWTAuthority(nullptr, &pr, &ps), IsGrpc(grpc::StatusCode::UNAVAILABLE, "initializing"));
}

TEST_F(LocalAuthorityServiceTest, X509PrepareActivateTaintRevoke) {
  const std::string first = X509State().active().authority_id();
  const std::string next = PrepareX509();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, first);
  EXPECT_EQ(X509State().prepared().authority_id(), next);
  EXPECT_THAT(BundleSkids(), ::testing::ElementsAre(first, next)) << "published before it can be activated";

  ASSERT_TRUE(ActivateX509(next).ok());
  auto st = X509State();
  EXPECT_EQ(st.active().authority_id(), next);
  EXPECT_EQ(st.old().authority_id(), first);
  EXPECT_FALSE(st.has_prepared());
  // New SVIDs come from the activated authority.
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto svid = ca_->SignX509Svid(*crypto::PublicKeyToDer(key->get()), *spiffe::SpiffeId::Parse("spiffe://example.org/w"),
                                absl::Minutes(5), {});
  ASSERT_TRUE(svid.ok());
  EXPECT_EQ(crypto::AuthorityKeyIdHex(crypto::ParseCertDer(svid->chain_der[0])->get()), next);

  ASSERT_TRUE(TaintX509(first).ok());
  EXPECT_THAT(BundleSkids(/*tainted_only=*/true), ::testing::ElementsAre(first));
  EXPECT_EQ(JournalSlot("x509", "old")["tainted"], true);
  EXPECT_THAT(TaintX509(first), IsGrpc(grpc::StatusCode::INTERNAL, "already tainted"));

  ASSERT_TRUE(RevokeX509(first).ok());
  EXPECT_THAT(BundleSkids(), ::testing::ElementsAre(next));
  EXPECT_FALSE(X509State().has_old());
  // Later rotations never publish the revoked authority again.
  clock_.Advance(absl::Hours(13));
  ASSERT_TRUE(ca_->Rotate().ok());
  auto after = BundleSkids();
  EXPECT_EQ(std::count(after.begin(), after.end(), first), 0);
  EXPECT_EQ(after.size(), 2u);
}

TEST_F(LocalAuthorityServiceTest, X509StepsRefuseTheWrongAuthority) {
  const std::string first = X509State().active().authority_id();
  EXPECT_THAT(ActivateX509(""), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "no authority ID provided"));
  EXPECT_THAT(ActivateX509(first), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unexpected authority ID"));
  EXPECT_THAT(TaintX509(""), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "no authority ID provided"));
  EXPECT_THAT(TaintX509(first), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unable to taint current local authority"));
  EXPECT_THAT(RevokeX509(""), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "no authority ID provided"));
  EXPECT_THAT(RevokeX509(first), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unable to use current authority"));

  const std::string next = PrepareX509();
  EXPECT_THAT(ActivateX509("00ff"), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unexpected authority ID"));
  EXPECT_THAT(TaintX509(next), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "only Old local authorities"));
  EXPECT_THAT(TaintX509("00ff"), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unexpected authority ID"));
  EXPECT_THAT(RevokeX509(next), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "only Old local authority can be revoked"));

  ASSERT_TRUE(ActivateX509(next).ok());
  EXPECT_THAT(ActivateX509(first), IsGrpc(grpc::StatusCode::INTERNAL, "only Prepared authorities can be activated"));
  EXPECT_THAT(RevokeX509(first), IsGrpc(grpc::StatusCode::INTERNAL, "not tainted"));
  EXPECT_THAT(BundleSkids(), ::testing::ElementsAre(first, next)) << "nothing changed by the refused steps";
  EXPECT_TRUE(BundleSkids(true).empty());
}

// A manual prepare is the prepared authority rotation activates: the threshold step does not prepare another one.
TEST_F(LocalAuthorityServiceTest, RotationActivatesTheManuallyPreparedAuthority) {
  const std::string next = PrepareX509();
  const std::string next_jwt = PrepareJwt();
  clock_.Advance(absl::Hours(13));  // past the preparation threshold of the 24h CA
  ASSERT_TRUE(ca_->Rotate().ok());
  EXPECT_EQ(X509State().prepared().authority_id(), next);
  EXPECT_EQ(JwtState().prepared().authority_id(), next_jwt);
  clock_.Advance(absl::Hours(8));  // past the activation threshold
  ASSERT_TRUE(ca_->Rotate().ok());
  EXPECT_EQ(X509State().active().authority_id(), next);
  EXPECT_EQ(JwtState().active().authority_id(), next_jwt);
  EXPECT_EQ(BundleSkids().size(), 2u);
}

TEST_F(LocalAuthorityServiceTest, PrepareTwiceReplacesThePreparedAuthority) {
  const std::string a = PrepareX509();
  const std::string b = PrepareX509();
  EXPECT_NE(a, b);
  EXPECT_EQ(X509State().prepared().authority_id(), b);
  EXPECT_THAT(ActivateX509(a), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unexpected authority ID"));
  EXPECT_TRUE(ActivateX509(b).ok());
}

TEST_F(LocalAuthorityServiceTest, JwtPrepareActivateTaintRevoke) {
  const std::string first = JwtState().active().authority_id();
  EXPECT_THAT(ActivateJwt(first), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unexpected authority ID"));
  EXPECT_THAT(TaintJwt(first), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unable to taint current local authority"));
  EXPECT_THAT(RevokeJwt(first), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unable to use current authority"));
  EXPECT_THAT(RevokeJwt("nope"), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "no JWT authority found"));

  const std::string next = PrepareJwt();
  EXPECT_THAT(BundleKids(), ::testing::ElementsAre(first, next));
  EXPECT_THAT(TaintJwt(next), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "only Old local authorities"));
  EXPECT_THAT(RevokeJwt(next), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unable to use a prepared key"));
  EXPECT_THAT(ActivateJwt(""), IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "no authority ID provided"));

  ASSERT_TRUE(ActivateJwt(next).ok());
  EXPECT_EQ(JwtState().active().authority_id(), next);
  EXPECT_EQ(JwtState().old().authority_id(), first);
  auto token = ca_->SignJwtSvid(*spiffe::SpiffeId::Parse("spiffe://example.org/w"), {"aud"}, absl::Minutes(5));
  ASSERT_TRUE(token.ok());
  EXPECT_THAT(RevokeJwt(first), IsGrpc(grpc::StatusCode::INTERNAL, "not tainted"));

  lav1::TaintJWTAuthorityRequest treq;
  treq.set_authority_id(first);
  lav1::TaintJWTAuthorityResponse tresp;
  ASSERT_TRUE(svc_->TaintJWTAuthority(nullptr, &treq, &tresp).ok());
  EXPECT_EQ(tresp.tainted_authority().authority_id(), first);
  EXPECT_THAT(BundleKids(/*tainted_only=*/true), ::testing::ElementsAre(first));
  EXPECT_EQ(JournalSlot("jwt", "old")["tainted"], true);
  EXPECT_THAT(TaintJwt(first), IsGrpc(grpc::StatusCode::INTERNAL, "already tainted"));

  ASSERT_TRUE(RevokeJwt(first).ok());
  EXPECT_THAT(BundleKids(), ::testing::ElementsAre(next));
  EXPECT_FALSE(JwtState().has_old());
}

TEST_F(LocalAuthorityServiceTest, UpstreamStepsNeedAnUpstreamAuthority) {
  lav1::TaintX509UpstreamAuthorityRequest treq;
  treq.set_subject_key_id("abcd");
  lav1::TaintX509UpstreamAuthorityResponse tresp;
  EXPECT_THAT(svc_->TaintX509UpstreamAuthority(nullptr, &treq, &tresp),
              IsGrpc(grpc::StatusCode::FAILED_PRECONDITION, "upstream authority is not configured"));
  lav1::RevokeX509UpstreamAuthorityRequest rreq;
  rreq.set_subject_key_id("abcd");
  lav1::RevokeX509UpstreamAuthorityResponse rresp;
  EXPECT_THAT(svc_->RevokeX509UpstreamAuthority(nullptr, &rreq, &rresp),
              IsGrpc(grpc::StatusCode::FAILED_PRECONDITION, "upstream authority is not configured"));
}

// The disk UpstreamAuthority's files are replaced and the server restarts: the authority signed by the previous
// upstream CA is rotated out, then that upstream root is tainted and revoked.
class UpstreamLocalAuthorityTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    std::string t = std::filesystem::temp_directory_path() / "cvm-la-XXXXXX";
    dir_ = mkdtemp(t.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A new upstream root written to the disk plugin's files; returns the plugin and the root's subject key id.
  std::pair<std::unique_ptr<UpstreamAuthority>, std::string> NewUpstream(const std::string& name) {
    auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    spiffe::CaParams p{.trust_domain = td_,
                       .public_key = nullptr,
                       .not_before = clock_.Now() - absl::Hours(1),
                       .not_after = clock_.Now() + absl::Hours(24 * 30)};
    p.subject_cn = name;
    auto cert = spiffe::SelfSignCa(key->get(), p, rnd_);
    EXPECT_TRUE(cert.ok());
    EXPECT_TRUE(files::WriteFileAtomic(dir_ + "/up.crt", crypto::CertToPem(cert->get()), 0644).ok());
    EXPECT_TRUE(files::WriteFileAtomic(dir_ + "/up.key", *crypto::PrivateKeyToPem(key->get()), 0600).ok());
    auto up = NewDiskUpstreamAuthority({dir_ + "/up.crt", dir_ + "/up.key", ""});
    EXPECT_TRUE(up.ok()) << up.status();
    return {std::move(*up), crypto::SubjectKeyIdHex(cert->get())};
  }
  std::unique_ptr<CaManager> NewCa(UpstreamAuthority* up) {
    CaConfig cc;
    cc.trust_domain = td_;
    cc.server_id = "up";
    auto ca = CaManager::Create(cc, *up_km_, *ds_, clock_, rnd_, up);
    EXPECT_TRUE(ca.ok());
    EXPECT_TRUE((*ca)->Initialize().ok());
    return std::move(*ca);
  }

  std::string dir_;
  std::unique_ptr<KeyManager> up_km_ = NewMemoryKeyManager();
};

TEST_F(UpstreamLocalAuthorityTest, TaintAndRevokeTheUpstreamRootOfTheOldAuthority) {
  auto [up1, root1] = NewUpstream("upstream-1");
  { auto ca = NewCa(up1.get()); }  // first run: active authority signed by root1
  auto [up2, root2] = NewUpstream("upstream-2");
  auto ca = NewCa(up2.get());  // restart with the new upstream files
  LocalAuthorityService svc(*ca);

  lav1::GetX509AuthorityStateRequest sreq;
  lav1::GetX509AuthorityStateResponse st;
  ASSERT_TRUE(svc.GetX509AuthorityState(nullptr, &sreq, &st).ok());
  EXPECT_EQ(st.active().upstream_authority_subject_key_id(), root1);
  const std::string first = st.active().authority_id();

  lav1::TaintX509UpstreamAuthorityRequest treq;
  lav1::TaintX509UpstreamAuthorityResponse tresp;
  treq.set_subject_key_id(root1);
  EXPECT_THAT(svc.TaintX509UpstreamAuthority(nullptr, &treq, &tresp),
              IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "unable to use upstream authority signing current authority"));

  lav1::PrepareX509AuthorityRequest preq;
  lav1::PrepareX509AuthorityResponse presp;
  ASSERT_TRUE(svc.PrepareX509Authority(nullptr, &preq, &presp).ok());
  EXPECT_EQ(presp.prepared_authority().upstream_authority_subject_key_id(), root2);
  treq.set_subject_key_id(root2);
  EXPECT_THAT(svc.TaintX509UpstreamAuthority(nullptr, &treq, &tresp),
              IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "only upstream authorities signing an old authority"));
  lav1::ActivateX509AuthorityRequest areq;
  areq.set_authority_id(presp.prepared_authority().authority_id());
  lav1::ActivateX509AuthorityResponse aresp;
  ASSERT_TRUE(svc.ActivateX509Authority(nullptr, &areq, &aresp).ok());

  // Local steps are refused with an upstream authority.
  lav1::TaintX509AuthorityRequest lreq;
  lreq.set_authority_id(first);
  lav1::TaintX509AuthorityResponse lresp;
  EXPECT_THAT(svc.TaintX509Authority(nullptr, &lreq, &lresp),
              IsGrpc(grpc::StatusCode::FAILED_PRECONDITION, "upstream authority"));
  lav1::RevokeX509AuthorityRequest lrreq;
  lrreq.set_authority_id(first);
  lav1::RevokeX509AuthorityResponse lrresp;
  EXPECT_THAT(svc.RevokeX509Authority(nullptr, &lrreq, &lrresp),
              IsGrpc(grpc::StatusCode::FAILED_PRECONDITION, "upstream authority"));

  lav1::RevokeX509UpstreamAuthorityRequest rreq;
  lav1::RevokeX509UpstreamAuthorityResponse rresp;
  rreq.set_subject_key_id(root1);
  EXPECT_THAT(svc.RevokeX509UpstreamAuthority(nullptr, &rreq, &rresp),
              IsGrpc(grpc::StatusCode::INTERNAL, "not tainted"));
  treq.set_subject_key_id("");
  EXPECT_THAT(svc.TaintX509UpstreamAuthority(nullptr, &treq, &tresp),
              IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "no subject key ID provided"));
  treq.set_subject_key_id("00ff");
  EXPECT_THAT(svc.TaintX509UpstreamAuthority(nullptr, &treq, &tresp),
              IsGrpc(grpc::StatusCode::INVALID_ARGUMENT, "didn't sign the old local authority"));

  treq.set_subject_key_id(absl::AsciiStrToUpper(root1));  // any case, as SPIRE normalises it
  ASSERT_TRUE(svc.TaintX509UpstreamAuthority(nullptr, &treq, &tresp).ok());
  EXPECT_EQ(tresp.upstream_authority_subject_key_id(), root1);
  auto b = ds_->FetchBundle("example.org");
  ASSERT_EQ(b->tainted_x509_der.size(), 1u);
  EXPECT_EQ(crypto::SubjectKeyIdHex(crypto::ParseCertDer(b->tainted_x509_der[0])->get()), root1);

  ASSERT_TRUE(svc.RevokeX509UpstreamAuthority(nullptr, &rreq, &rresp).ok());
  EXPECT_EQ(rresp.upstream_authority_subject_key_id(), root1);
  b = ds_->FetchBundle("example.org");
  std::vector<std::string> skids;
  for (const auto& der : b->x509_authorities_der)
    skids.push_back(crypto::SubjectKeyIdHex(crypto::ParseCertDer(der)->get()));
  EXPECT_EQ(std::count(skids.begin(), skids.end(), root1), 0);
  EXPECT_EQ(std::count(skids.begin(), skids.end(), root2), 1);
}

}  // namespace
}  // namespace spirecvm::server::spireapi
