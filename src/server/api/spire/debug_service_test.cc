// SPIRE's Debug service called directly: the server SVID's chain from its file, the uptime on the injected clock, and
// the agent and entry counts from the DataStore.
#include "server/api/spire/debug_service.h"

#include <filesystem>

#include "common/files.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "server/api/spire/test_fixture.h"

namespace spirecvm::server::spireapi {
namespace {

class DebugServiceTest : public SpireApiTest {
 protected:
  void SetUp() override {
    SpireApiTest::SetUp();
    std::string t = std::filesystem::temp_directory_path() / "cvm-debug-XXXXXX";
    dir_ = mkdtemp(t.data());
    svc_ = std::make_unique<DebugService>(
        DebugServiceDeps{.ds = *ds_, .clock = clock_, .svid_cert_path = dir_ + "/server_svid.pem"});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<DebugService> svc_;
};

TEST_F(DebugServiceTest, GetInfoReportsTheSvidUptimeAndCounts) {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto svid = ca_->SignX509Svid(*crypto::PublicKeyToDer(key->get()),
                                *spiffe::SpiffeId::Parse("spiffe://example.org/spire/server"), absl::Hours(1), {});
  ASSERT_TRUE(svid.ok());
  ASSERT_TRUE(files::WriteFileAtomic(dir_ + "/server_svid.pem",
                                     crypto::CertToPem(crypto::ParseCertDer(svid->chain_der[0])->get()), 0644)
                  .ok());
  AddNode("spiffe://example.org/spire/agent/x/1", "x", {});
  datastore::RegistrationEntry e;
  e.spiffe_id = "spiffe://example.org/w";
  e.parent_id = "spiffe://example.org/spire/agent/x/1";
  e.selectors = {{"unix", "uid:1"}};
  ASSERT_TRUE(ds_->CreateEntry(e).ok());
  clock_.Advance(absl::Seconds(42));

  debugv1::GetInfoRequest req;
  debugv1::GetInfoResponse resp;
  ASSERT_TRUE(svc_->GetInfo(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.svid_chain_size(), 1);
  EXPECT_EQ(resp.svid_chain(0).id().trust_domain(), "example.org");
  EXPECT_EQ(resp.svid_chain(0).id().path(), "/spire/server");
  EXPECT_EQ(resp.svid_chain(0).expires_at(), absl::ToUnixSeconds(svid->not_after));
  EXPECT_EQ(resp.uptime(), 42);
  EXPECT_EQ(resp.agents_count(), 1);
  EXPECT_EQ(resp.entries_count(), 1);
  EXPECT_EQ(resp.federated_bundles_count(), 0);

  auto own = ds_->FetchBundle("example.org");
  ASSERT_TRUE(own.ok());
  datastore::BundleRecord fed = *own;
  fed.trust_domain = "other.org";
  ASSERT_TRUE(ds_->SetBundle(fed).ok());
  debugv1::GetInfoResponse after;
  ASSERT_TRUE(svc_->GetInfo(nullptr, &req, &after).ok());
  EXPECT_EQ(after.federated_bundles_count(), 1);
}

TEST_F(DebugServiceTest, NoServerSvidIsAnError) {
  debugv1::GetInfoRequest req;
  debugv1::GetInfoResponse resp;
  auto st = svc_->GetInfo(nullptr, &req, &resp);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("server SVID"), std::string::npos);
}

}  // namespace
}  // namespace spirecvm::server::spireapi
