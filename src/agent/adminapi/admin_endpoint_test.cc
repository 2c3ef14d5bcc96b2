// The admin endpoint over a real Unix socket, in process: the test process is the caller, attested by the unix
// attestor from its peer credentials (unix:uid:<uid>). DelegatedIdentity's authorization (authorized delegate, not
// authorized, no identity), selectors or PID, the X509-SVID stream and its updates, bundles (own and federated),
// JWT-SVIDs; Debug, Logger on the same socket.
#include "agent/adminapi/admin_endpoint.h"

#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/testing/test_ca.h"
#include "agent/workload/unix_attestor.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spdlog/sinks/null_sink.h"

namespace spirecvm::agent::adminapi {
namespace {

using agent::testing::TestCa;

constexpr char kDelegateId[] = "spiffe://example.org/delegate";
constexpr char kWorkloadId[] = "spiffe://example.org/workload";

class FakeMinter : public JwtMinter {
 public:
  explicit FakeMinter(const TestCa* ca) : ca_(ca) {}
  absl::StatusOr<JwtRecord> MintJwt(const spirecvm::types::Entry& e, const std::vector<std::string>& aud) override {
    absl::Time now = absl::Now();
    return JwtRecord{ca_->Jwt(e.spiffe_id(), aud, now, now + absl::Minutes(5)), e.spiffe_id(), "", now,
                     now + absl::Minutes(5)};
  }

 private:
  const TestCa* ca_;
};

spirecvm::types::Entry MakeEntry(const std::string& id, const std::string& spiffe_id,
                                 const std::vector<std::pair<std::string, std::string>>& selectors) {
  spirecvm::types::Entry e;
  e.set_id(id);
  e.set_spiffe_id(spiffe_id);
  e.set_parent_id("spiffe://example.org/spire/agent/join_token/x");
  for (const auto& [t, v] : selectors) {
    auto* s = e.add_selectors();
    s->set_type(t);
    s->set_value(v);
  }
  e.set_revision_number(1);
  e.set_hint("h-" + id);
  return e;
}

class AdminEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = TestCa::Make(absl::Now());
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("adminapi-", getpid(), "-", counter_++);
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    socket_ = (dir_ / "private" / "admin.sock").string();
    cache_ = Cache::Create(RealClock::Get(), 100);
    cache_->SetBundle(ca_.Bundle());
    minter_ = std::make_unique<FakeMinter>(&ca_);
    attestor_ = std::make_unique<UnixAttestor>(UnixAttestorConfig{});
    logger_ = std::make_shared<spdlog::logger>("admin-test", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger_->set_level(spdlog::level::info);
  }
  void Start(std::vector<std::string> delegates = {kDelegateId}) {
    AdminApiDeps deps;
    deps.cache = cache_;
    deps.attestor = attestor_.get();
    deps.minter = minter_.get();
    deps.pool = &pool_;
    deps.clock = &RealClock::Get();
    deps.authorized_delegates = std::move(delegates);
    deps.debug = DebugSource{[] { return std::vector<std::string>{}; }, [] { return std::optional<spiffe::Bundle>(); },
                             [] { return absl::InfinitePast(); }, [] { return size_t{0}; }, [] { return size_t{0}; }};
    deps.logger = logger_;
    auto ep = AdminEndpoint::Start(socket_, std::move(deps));
    ASSERT_TRUE(ep.ok()) << ep.status();
    endpoint_ = std::move(*ep);
    channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
    stub_ = didv1::DelegatedIdentity::NewStub(channel_);
  }
  void TearDown() override {
    stub_.reset();
    channel_.reset();
    endpoint_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Uid() const { return absl::StrCat(getuid()); }
  // The caller (this process) gets kDelegateId; a workload on pod "a" gets kWorkloadId.
  void AddEntries() {
    cache_->ApplySync({MakeEntry("d", kDelegateId, {{"unix", "uid:" + Uid()}}),
                       MakeEntry("w", kWorkloadId, {{"k8s", "pod-uid:a"}, {"k8s", "ns:x"}})},
                      {});
    StoreSvid("d", kDelegateId);
    StoreSvid("w", kWorkloadId);
  }
  std::string StoreSvid(const std::string& id, const std::string& spiffe_id) {
    auto key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
    auto rec = std::make_shared<X509SvidRecord>();
    absl::Time now = absl::Now();
    rec->entry_id = id;
    rec->entry_revision = 1;
    rec->spiffe_id = spiffe_id;
    rec->hint = "h-" + id;
    rec->chain_der = {ca_.Sign(spiffe_id, key.get(), now - absl::Minutes(1), now + absl::Hours(1))};
    rec->key_pkcs8_der = *crypto::PrivateKeyToPkcs8Der(key.get());
    rec->not_before = now - absl::Minutes(1);
    rec->not_after = now + absl::Hours(1);
    cache_->StoreSvids({rec});
    return rec->chain_der[0];
  }
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }
  static didv1::SubscribeToX509SVIDsRequest BySelectors() {
    didv1::SubscribeToX509SVIDsRequest req;
    auto* s = req.add_selectors();
    s->set_type("k8s");
    s->set_value("pod-uid:a");
    s = req.add_selectors();
    s->set_type("k8s");
    s->set_value("ns:x");
    return req;
  }
  grpc::Status FirstX509Error(const didv1::SubscribeToX509SVIDsRequest& req) {
    auto ctx = Ctx();
    auto reader = stub_->SubscribeToX509SVIDs(ctx.get(), req);
    didv1::SubscribeToX509SVIDsResponse resp;
    EXPECT_FALSE(reader->Read(&resp));
    return reader->Finish();
  }

  static inline int counter_ = 0;
  TestCa ca_;
  std::filesystem::path dir_;
  std::string socket_;
  std::shared_ptr<Cache> cache_;
  std::unique_ptr<FakeMinter> minter_;
  std::unique_ptr<UnixAttestor> attestor_;
  std::shared_ptr<spdlog::logger> logger_;
  WorkerPool pool_{2};
  std::unique_ptr<AdminEndpoint> endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<didv1::DelegatedIdentity::Stub> stub_;
};

TEST_F(AdminEndpointTest, AuthorizedDelegateSubscribesBySelectorsAndSeesRotation) {
  AddEntries();
  Start();
  struct stat st;
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0770);

  auto ctx = Ctx();
  auto reader = stub_->SubscribeToX509SVIDs(ctx.get(), BySelectors());
  didv1::SubscribeToX509SVIDsResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  ASSERT_EQ(resp.x509_svids_size(), 1);
  const auto& svid = resp.x509_svids(0);
  EXPECT_EQ(svid.x509_svid().id().trust_domain(), "example.org");
  EXPECT_EQ(svid.x509_svid().id().path(), "/workload");
  EXPECT_EQ(svid.x509_svid().hint(), "h-w");
  ASSERT_EQ(svid.x509_svid().cert_chain_size(), 1);
  auto cert = crypto::ParseCertDer(svid.x509_svid().cert_chain(0));
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(crypto::UriSans(cert->get()), std::vector<std::string>{kWorkloadId});
  EXPECT_EQ(svid.x509_svid().expires_at(), absl::ToUnixSeconds(crypto::NotAfter(cert->get())));
  auto key = crypto::PrivateKeyFromDer(svid.x509_svid_key());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*crypto::CertSpkiDer(cert->get()), *crypto::PublicKeyToDer(key->get()));
  EXPECT_TRUE(resp.federates_with().empty());

  const std::string rotated = StoreSvid("w", kWorkloadId);  // a new SVID reaches the stream
  ASSERT_TRUE(reader->Read(&resp));
  ASSERT_EQ(resp.x509_svids_size(), 1);
  EXPECT_EQ(resp.x509_svids(0).x509_svid().cert_chain(0), rotated);

  // The delegate's own entry goes away: the stream ends with PermissionDenied on the next update.
  cache_->ApplySync({}, {"d"});
  StoreSvid("w", kWorkloadId);
  while (reader->Read(&resp)) {
  }
  grpc::Status done = reader->Finish();
  EXPECT_EQ(done.error_code(), grpc::StatusCode::PERMISSION_DENIED) << done.error_message();
  EXPECT_EQ(done.error_message(), "no identity issued");
}

TEST_F(AdminEndpointTest, SelectorsWithoutEntriesGiveAnEmptyList) {
  AddEntries();
  Start();
  didv1::SubscribeToX509SVIDsRequest req;
  auto* s = req.add_selectors();
  s->set_type("k8s");
  s->set_value("pod-uid:nobody");
  auto ctx = Ctx();
  auto reader = stub_->SubscribeToX509SVIDs(ctx.get(), req);
  didv1::SubscribeToX509SVIDsResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.x509_svids_size(), 0);
  ctx->TryCancel();
  reader->Finish();
}

TEST_F(AdminEndpointTest, ByPidAttestsThatProcess) {
  AddEntries();
  Start();
  didv1::SubscribeToX509SVIDsRequest req;
  req.set_pid(getpid());  // this process: unix:uid:<uid> -> the delegate's own entry
  auto ctx = Ctx();
  auto reader = stub_->SubscribeToX509SVIDs(ctx.get(), req);
  didv1::SubscribeToX509SVIDsResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  ASSERT_EQ(resp.x509_svids_size(), 1);
  EXPECT_EQ(resp.x509_svids(0).x509_svid().id().path(), "/delegate");
  ctx->TryCancel();
  reader->Finish();

  req.set_pid(0x7ffffff0);  // no such process
  grpc::Status st = FirstX509Error(req);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(st.error_message(), "workload attestation with PID failed");
}

TEST_F(AdminEndpointTest, RequestMustNameSelectorsOrPidNotBoth) {
  AddEntries();
  Start();
  auto both = BySelectors();
  both.set_pid(getpid());
  grpc::Status st = FirstX509Error(both);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "must provide either selectors or non-zero pid, but not both");
  EXPECT_EQ(FirstX509Error(didv1::SubscribeToX509SVIDsRequest()).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  didv1::SubscribeToX509SVIDsRequest bad;
  bad.add_selectors()->set_type("k8s");  // no value
  st = FirstX509Error(bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "could not parse provided selectors");
}

TEST_F(AdminEndpointTest, UnauthorizedCallersArePermissionDenied) {
  AddEntries();
  Start({"spiffe://example.org/someone-else"});
  grpc::Status st = FirstX509Error(BySelectors());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "caller not configured as an authorized delegate");

  didv1::FetchJWTSVIDsRequest jreq;
  jreq.add_audience("aud");
  *jreq.mutable_selectors() = BySelectors().selectors();
  didv1::FetchJWTSVIDsResponse jresp;
  auto ctx = Ctx();
  st = stub_->FetchJWTSVIDs(ctx.get(), jreq, &jresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  auto bctx = Ctx();
  auto breader = stub_->SubscribeToX509Bundles(bctx.get(), didv1::SubscribeToX509BundlesRequest());
  didv1::SubscribeToX509BundlesResponse bresp;
  EXPECT_FALSE(breader->Read(&bresp));
  EXPECT_EQ(breader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AdminEndpointTest, CallerWithoutIdentityIsPermissionDenied) {
  cache_->ApplySync({MakeEntry("w", kWorkloadId, {{"k8s", "pod-uid:a"}})}, {});
  Start();
  grpc::Status st = FirstX509Error(BySelectors());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "no identity issued");
}

TEST_F(AdminEndpointTest, BundlesAndJwtSvids) {
  AddEntries();
  Start();
  auto ctx = Ctx();
  auto xreader = stub_->SubscribeToX509Bundles(ctx.get(), didv1::SubscribeToX509BundlesRequest());
  didv1::SubscribeToX509BundlesResponse xresp;
  ASSERT_TRUE(xreader->Read(&xresp));
  EXPECT_EQ(xresp.ca_certificates().at("spiffe://example.org"), crypto::CertToDer(ca_.cert.get()));
  ctx->TryCancel();
  xreader->Finish();

  auto ctx2 = Ctx();
  auto jreader = stub_->SubscribeToJWTBundles(ctx2.get(), didv1::SubscribeToJWTBundlesRequest());
  didv1::SubscribeToJWTBundlesResponse jbresp;
  ASSERT_TRUE(jreader->Read(&jbresp));
  EXPECT_NE(jbresp.bundles().at("spiffe://example.org").find(ca_.jwt_kid), std::string::npos);
  ctx2->TryCancel();
  jreader->Finish();

  didv1::FetchJWTSVIDsRequest jreq;
  *jreq.mutable_selectors() = BySelectors().selectors();
  didv1::FetchJWTSVIDsResponse jresp;
  auto ctx3 = Ctx();
  grpc::Status st = stub_->FetchJWTSVIDs(ctx3.get(), jreq, &jresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "audience must be specified");
  jreq.add_audience("aud1");
  auto ctx4 = Ctx();
  st = stub_->FetchJWTSVIDs(ctx4.get(), jreq, &jresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(jresp.svids_size(), 1);
  EXPECT_EQ(jresp.svids(0).id().path(), "/workload");
  EXPECT_EQ(jresp.svids(0).hint(), "h-w");
  auto claims =
      spiffe::ValidateJwtSvid(jresp.svids(0).token(), *spiffe::JwtKeysFromBundle(ca_.Bundle()), {"aud1"}, absl::Now());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->sub.ToString(), kWorkloadId);
  EXPECT_GT(jresp.svids(0).expires_at(), jresp.svids(0).issued_at());
}

// The public key of the single JWT authority of a JWKS from SubscribeToJWTBundles (which carries no X.509 keys).
std::string JwtKeyOf(const std::string& td, const std::string& jwks) {
  auto b = spiffe::BundleFromJwks(*spiffe::TrustDomain::Parse(td), jwks);
  if (!b.ok() || !b->x509_authorities_der.empty() || b->jwt_authorities.size() != 1) return "bad JWKS: " + jwks;
  return b->jwt_authorities[0].public_key_der;
}

// Federation, as SPIRE's agent: the bundle streams carry the trust bundle and every federated bundle the agent holds
// (keyed by trust domain ID), X509-SVID updates list the held trust domains the workload's entries federate with,
// and a change of a federated bundle pushes a new message on each stream.
TEST_F(AdminEndpointTest, FederatedBundlesReachEveryStream) {
  AddEntries();
  auto w = MakeEntry("w", kWorkloadId, {{"k8s", "pod-uid:a"}, {"k8s", "ns:x"}});
  w.add_federates_with("other.org");
  w.add_federates_with("third.org");
  auto z = MakeEntry("z", "spiffe://example.org/z", {{"k8s", "pod-uid:z"}});
  z.add_federates_with("fourth.org");  // neither the delegate's nor the workload's
  cache_->ApplySync({w, z}, {});
  const absl::Time now = absl::Now();
  const TestCa other = TestCa::Make(now, "other.org"), third = TestCa::Make(now, "third.org");
  const TestCa fourth = TestCa::Make(now, "fourth.org"), other2 = TestCa::Make(now, "other.org");
  cache_->SetFederatedBundles({other.Bundle(1), fourth.Bundle(1)});  // third.org's is not held
  Start();

  auto sctx = Ctx(), xctx = Ctx(), jctx = Ctx();
  auto sreader = stub_->SubscribeToX509SVIDs(sctx.get(), BySelectors());
  auto xreader = stub_->SubscribeToX509Bundles(xctx.get(), didv1::SubscribeToX509BundlesRequest());
  auto jreader = stub_->SubscribeToJWTBundles(jctx.get(), didv1::SubscribeToJWTBundlesRequest());
  didv1::SubscribeToX509SVIDsResponse svids;
  didv1::SubscribeToX509BundlesResponse x509;
  didv1::SubscribeToJWTBundlesResponse jwt;
  using Ids = std::vector<std::string>;
  auto keys = [](const auto& map) {
    Ids out;
    for (const auto& [k, v] : map) out.push_back(k);
    std::sort(out.begin(), out.end());
    return out;
  };

  ASSERT_TRUE(sreader->Read(&svids));
  ASSERT_EQ(svids.x509_svids_size(), 1);
  EXPECT_EQ(Ids(svids.federates_with().begin(), svids.federates_with().end()), Ids{"spiffe://other.org"});
  ASSERT_TRUE(xreader->Read(&x509));
  EXPECT_EQ(keys(x509.ca_certificates()), (Ids{"spiffe://example.org", "spiffe://fourth.org", "spiffe://other.org"}));
  EXPECT_EQ(x509.ca_certificates().at("spiffe://other.org"), crypto::CertToDer(other.cert.get()));
  EXPECT_EQ(x509.ca_certificates().at("spiffe://fourth.org"), crypto::CertToDer(fourth.cert.get()));
  ASSERT_TRUE(jreader->Read(&jwt));
  EXPECT_EQ(keys(jwt.bundles()), (Ids{"spiffe://example.org", "spiffe://fourth.org", "spiffe://other.org"}));
  EXPECT_EQ(JwtKeyOf("other.org", jwt.bundles().at("spiffe://other.org")),
            *crypto::PublicKeyToDer(other.jwt_key.get()));

  // other.org rotates: a new message on every stream.
  cache_->SetFederatedBundles({other2.Bundle(2), fourth.Bundle(1)});
  ASSERT_TRUE(sreader->Read(&svids));
  ASSERT_EQ(svids.x509_svids_size(), 1);
  EXPECT_EQ(Ids(svids.federates_with().begin(), svids.federates_with().end()), Ids{"spiffe://other.org"});
  ASSERT_TRUE(xreader->Read(&x509));
  EXPECT_EQ(x509.ca_certificates().at("spiffe://other.org"), crypto::CertToDer(other2.cert.get()));
  ASSERT_TRUE(jreader->Read(&jwt));
  EXPECT_EQ(JwtKeyOf("other.org", jwt.bundles().at("spiffe://other.org")),
            *crypto::PublicKeyToDer(other2.jwt_key.get()));

  // third.org's bundle arrives, fourth.org's goes away.
  cache_->SetFederatedBundles({other2.Bundle(2), third.Bundle(1)});
  ASSERT_TRUE(sreader->Read(&svids));
  EXPECT_EQ(Ids(svids.federates_with().begin(), svids.federates_with().end()),
            (Ids{"spiffe://other.org", "spiffe://third.org"}));
  ASSERT_TRUE(xreader->Read(&x509));
  EXPECT_EQ(keys(x509.ca_certificates()), (Ids{"spiffe://example.org", "spiffe://other.org", "spiffe://third.org"}));
  EXPECT_EQ(x509.ca_certificates().at("spiffe://third.org"), crypto::CertToDer(third.cert.get()));
  ASSERT_TRUE(jreader->Read(&jwt));
  EXPECT_EQ(keys(jwt.bundles()), (Ids{"spiffe://example.org", "spiffe://other.org", "spiffe://third.org"}));

  for (auto* c : {sctx.get(), xctx.get(), jctx.get()}) c->TryCancel();
  sreader->Finish();
  xreader->Finish();
  jreader->Finish();
}

TEST_F(AdminEndpointTest, DebugAndLoggerOnTheSameSocket) {
  Start();
  auto logger = loggerv1::Logger::NewStub(channel_);
  loggerv1::SetLogLevelRequest req;
  req.set_new_level(apitypes::LogLevel::DEBUG);
  apitypes::Logger out;
  auto ctx = Ctx();
  ASSERT_TRUE(logger->SetLogLevel(ctx.get(), req, &out).ok());
  EXPECT_EQ(out.current_level(), apitypes::LogLevel::DEBUG);
  EXPECT_EQ(out.launch_level(), apitypes::LogLevel::INFO);
  EXPECT_EQ(logger_->level(), spdlog::level::debug);

  auto debug = debugv1::Debug::NewStub(channel_);
  debugv1::GetInfoResponse info;
  auto ctx2 = Ctx();
  grpc::Status st = debug->GetInfo(ctx2.get(), debugv1::GetInfoRequest(), &info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);  // no bundle yet in this fake
}

}  // namespace
}  // namespace spirecvm::agent::adminapi
