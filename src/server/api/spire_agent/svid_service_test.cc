#include "server/api/spire_agent/svid_service.h"

#include "server/api/spire_agent/test_fixture.h"

namespace spirecvm::server::spireagent {
namespace {

class SvidServiceTest : public SpireAgentApiTest {
 protected:
  void SetUp() override {
    SpireAgentApiTest::SetUp();
    auto e = AddEntry("/web", "spiffe://example.org/spire/agent/x/1");
    entries_by_id_[e.id] = std::make_shared<const datastore::RegistrationEntry>(e);
    entry_id_ = e.id;
  }
  svidv1::BatchNewX509SVIDResponse::Result Mint(const std::string& entry_id, const std::string& csr) {
    svidv1::NewX509SVIDParams p;
    p.set_entry_id(entry_id);
    p.set_csr(csr);
    return NewX509SvidResult(Deps(), entries_by_id_, p);
  }

  std::map<std::string, EntryPtr, std::less<>> entries_by_id_;
  std::string entry_id_;
};

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

TEST_F(SvidServiceTest, MintMethodsArePermissionDeniedOnTheAgentEndpoint) {
  SvidService svc(Deps());
  svidv1::MintX509SVIDResponse resp;
  EXPECT_EQ(svc.MintX509SVID(nullptr, nullptr, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace spirecvm::server::spireagent
