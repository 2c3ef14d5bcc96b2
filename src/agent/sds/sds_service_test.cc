// SDS over the Workload API socket, in process: FetchSecrets without the Workload API header, StreamSecrets
// versions/nonces, ACK (no answer), NACK (logged, streaming goes on), stale nonces ignored, pushes on rotation,
// names changing, unknown names ending the stream, a workload without entries, DeltaSecrets Unimplemented.
#include "agent/sds/sds_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/testing/test_ca.h"
#include "agent/workload/endpoint.h"
#include "agent/workload/unix_attestor.h"
#include "crypto/keys.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/service/secret/v3/sds.grpc.pb.h"

namespace spirecvm::agent::sds {
namespace {

namespace tls = envoy::extensions::transport_sockets::tls::v3;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using envoy::service::secret::v3::SecretDiscoveryService;
using testing::TestCa;

class NoJwt : public JwtMinter {
 public:
  absl::StatusOr<JwtRecord> MintJwt(const spirecvm::types::Entry&, const std::vector<std::string>&) override {
    return absl::UnimplementedError("not in this test");
  }
};

class SdsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = TestCa::Make(absl::Now());
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("sds-", getpid(), "-", counter_++);
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "api.sock").string();
    cache_ = Cache::Create(RealClock::Get(), 100);
    cache_->SetBundle(ca_.Bundle());
    attestor_ = std::make_unique<UnixAttestor>(UnixAttestorConfig{});
    WorkloadApiDeps deps;
    deps.cache = cache_;
    deps.attestor = attestor_.get();
    deps.minter = &minter_;
    deps.peers = &peers_;
    deps.pool = &pool_;
    deps.clock = &RealClock::Get();
    auto ep = WorkloadEndpoint::Start(socket_, std::move(deps), SdsDeps{});
    ASSERT_TRUE(ep.ok()) << ep.status();
    endpoint_ = std::move(*ep);
    stub_ = SecretDiscoveryService::NewStub(grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    stub_.reset();
    endpoint_.reset();
    std::filesystem::remove_all(dir_);
  }

  void AddEntry(const std::string& id, const std::string& spiffe_id) {
    spirecvm::types::Entry e;
    e.set_id(id);
    e.set_spiffe_id(spiffe_id);
    e.set_parent_id("spiffe://example.org/spire/agent/join_token/x");
    auto* s = e.add_selectors();
    s->set_type("unix");
    s->set_value(absl::StrCat("uid:", getuid()));
    e.set_revision_number(1);
    cache_->ApplySync({e}, {});
  }
  // A new SVID for the entry (a rotation when one was there): returns its leaf DER.
  std::string StoreSvid(const std::string& id, const std::string& spiffe_id) {
    auto key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
    auto rec = std::make_shared<X509SvidRecord>();
    rec->entry_id = id;
    rec->entry_revision = 1;
    rec->spiffe_id = spiffe_id;
    absl::Time now = absl::Now();
    rec->chain_der = {ca_.Sign(spiffe_id, key.get(), now - absl::Minutes(1), now + absl::Hours(1))};
    rec->key_pkcs8_der = *crypto::PrivateKeyToPkcs8Der(key.get());
    rec->not_before = now - absl::Minutes(1);
    rec->not_after = now + absl::Hours(1);
    cache_->StoreSvids({rec});
    return rec->chain_der[0];
  }

  static DiscoveryRequest Req(std::vector<std::string> names, const DiscoveryResponse* ack = nullptr) {
    DiscoveryRequest r;
    r.set_type_url(kSecretTypeUrl);
    for (auto& n : names) r.add_resource_names(n);
    if (ack != nullptr) {
      r.set_response_nonce(ack->nonce());
      r.set_version_info(ack->version_info());
    }
    return r;
  }
  static std::vector<tls::Secret> Secrets(const DiscoveryResponse& resp) {
    std::vector<tls::Secret> out;
    for (const auto& any : resp.resources()) {
      tls::Secret s;
      EXPECT_TRUE(any.UnpackTo(&s));
      out.push_back(s);
    }
    return out;
  }
  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }

  static inline int counter_ = 0;
  TestCa ca_;
  std::filesystem::path dir_;
  std::string socket_;
  std::shared_ptr<Cache> cache_;
  NoJwt minter_;
  std::unique_ptr<UnixAttestor> attestor_;
  PeerRegistry peers_;
  WorkerPool pool_{2};
  std::unique_ptr<WorkloadEndpoint> endpoint_;
  std::unique_ptr<SecretDiscoveryService::Stub> stub_;
};

const char kId[] = "spiffe://example.org/web";

TEST_F(SdsServiceTest, FetchSecretsNeedsNoHeaderAndHasNoVersion) {
  AddEntry("e1", kId);
  std::string leaf = StoreSvid("e1", kId);
  auto ctx = Ctx();
  DiscoveryResponse resp;
  grpc::Status st = stub_->FetchSecrets(ctx.get(), Req({"default", "ROOTCA"}), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.version_info(), "");
  EXPECT_EQ(resp.nonce(), "");
  EXPECT_EQ(resp.type_url(), kSecretTypeUrl);
  auto s = Secrets(resp);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name(), "ROOTCA");
  EXPECT_EQ(s[1].name(), "default");
  EXPECT_EQ(s[1].tls_certificate().certificate_chain().inline_bytes(), PemBlock("CERTIFICATE", leaf));
}

TEST_F(SdsServiceTest, FetchSecretsUnknownNameIsInvalidArgument) {
  AddEntry("e1", kId);
  StoreSvid("e1", kId);
  auto ctx = Ctx();
  DiscoveryResponse resp;
  grpc::Status st = stub_->FetchSecrets(ctx.get(), Req({"spiffe://example.org/nope"}), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "workload is not authorized for the requested identities [\"spiffe://example.org/nope\"]");
}

TEST_F(SdsServiceTest, StreamVersionsAckRotationAndNamesChange) {
  AddEntry("e1", kId);
  StoreSvid("e1", kId);
  auto ctx = Ctx();
  auto stream = stub_->StreamSecrets(ctx.get());
  ASSERT_TRUE(stream->Write(Req({kId})));
  DiscoveryResponse r1;
  ASSERT_TRUE(stream->Read(&r1));
  EXPECT_EQ(r1.version_info(), "1");
  EXPECT_EQ(r1.nonce().size(), 8u);
  ASSERT_EQ(Secrets(r1).size(), 1u);
  EXPECT_EQ(Secrets(r1)[0].name(), kId);

  // ACK: no answer. The next message is the push of the rotated SVID, version 2.
  ASSERT_TRUE(stream->Write(Req({kId}, &r1)));
  std::string rotated = StoreSvid("e1", kId);
  DiscoveryResponse r2;
  ASSERT_TRUE(stream->Read(&r2));
  EXPECT_EQ(r2.version_info(), "2");
  EXPECT_NE(r2.nonce(), r1.nonce());
  EXPECT_EQ(Secrets(r2)[0].tls_certificate().certificate_chain().inline_bytes(), PemBlock("CERTIFICATE", rotated));

  // A request carrying an old nonce is stale: ignored, even though it names other resources.
  ASSERT_TRUE(stream->Write(Req({"ROOTCA"}, &r1)));
  // The current nonce with new names: answered at once, same version.
  ASSERT_TRUE(stream->Write(Req({"ROOTCA", "default"}, &r2)));
  DiscoveryResponse r3;
  ASSERT_TRUE(stream->Read(&r3));
  EXPECT_EQ(r3.version_info(), "2");
  auto s = Secrets(r3);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name(), "ROOTCA");
  EXPECT_EQ(s[1].name(), "default");

  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(SdsServiceTest, NackIsLoggedAndStreamingGoesOn) {
  AddEntry("e1", kId);
  StoreSvid("e1", kId);
  auto ctx = Ctx();
  auto stream = stub_->StreamSecrets(ctx.get());
  ASSERT_TRUE(stream->Write(Req({"default"})));
  DiscoveryResponse r1;
  ASSERT_TRUE(stream->Read(&r1));
  DiscoveryRequest nack = Req({"default"});
  nack.set_response_nonce(r1.nonce());
  nack.set_version_info("");  // nothing applied
  nack.mutable_error_detail()->set_message("bad certificate");
  ASSERT_TRUE(stream->Write(nack));
  StoreSvid("e1", kId);
  DiscoveryResponse r2;
  ASSERT_TRUE(stream->Read(&r2));
  EXPECT_EQ(r2.version_info(), "2");
  EXPECT_EQ(Secrets(r2)[0].name(), "default");
  ctx->TryCancel();
}

TEST_F(SdsServiceTest, RequestBeforeSvidIsAnsweredWhenItArrives) {
  AddEntry("e1", kId);  // no SVID yet: the cache has nothing complete to deliver
  auto ctx = Ctx();
  auto stream = stub_->StreamSecrets(ctx.get());
  ASSERT_TRUE(stream->Write(Req({"default"})));
  std::string leaf = StoreSvid("e1", kId);
  DiscoveryResponse r;
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(Secrets(r)[0].tls_certificate().certificate_chain().inline_bytes(), PemBlock("CERTIFICATE", leaf));
  ctx->TryCancel();
}

TEST_F(SdsServiceTest, UnknownNameEndsTheStream) {
  AddEntry("e1", kId);
  StoreSvid("e1", kId);
  auto ctx = Ctx();
  auto stream = stub_->StreamSecrets(ctx.get());
  ASSERT_TRUE(stream->Write(Req({"spiffe://example.org/other"})));
  DiscoveryResponse r;
  EXPECT_FALSE(stream->Read(&r));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SdsServiceTest, WorkloadWithoutEntriesGetsBundlesOnly) {
  auto ctx = Ctx();
  auto stream = stub_->StreamSecrets(ctx.get());
  ASSERT_TRUE(stream->Write(Req({"ROOTCA"})));
  DiscoveryResponse r;
  ASSERT_TRUE(stream->Read(&r));
  ASSERT_EQ(Secrets(r).size(), 1u);
  EXPECT_EQ(Secrets(r)[0].name(), "ROOTCA");
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());

  auto ctx2 = Ctx();
  DiscoveryResponse resp;
  EXPECT_EQ(stub_->FetchSecrets(ctx2.get(), Req({"default"}), &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SdsServiceTest, DeltaSecretsIsUnimplemented) {
  auto ctx = Ctx();
  auto stream = stub_->DeltaSecrets(ctx.get());
  envoy::service::discovery::v3::DeltaDiscoveryResponse r;
  EXPECT_FALSE(stream->Read(&r));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(st.error_message(), "Method is not implemented");
}

}  // namespace
}  // namespace spirecvm::agent::sds
