// The Workload API over a real Unix socket, in process: header enforcement, PermissionDenied, first response,
// pushes to many watchers, entry removal, JWT fetch/validate, health.
#include "agent/workload/workload_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/testing/test_ca.h"
#include "agent/workload/endpoint.h"
#include "agent/workload/unix_attestor.h"
#include "crypto/keys.h"
#include "workload.grpc.pb.h"

namespace spirecvm::agent {
namespace {

using testing::TestCa;

class FakeMinter : public JwtMinter {
 public:
  explicit FakeMinter(const TestCa* ca) : ca_(ca) {}
  absl::StatusOr<JwtRecord> MintJwt(const spirecvm::types::Entry& e, const std::vector<std::string>& aud) override {
    ++calls;
    absl::Time now = absl::Now();
    JwtRecord r;
    r.token = ca_->Jwt(e.spiffe_id(), aud, now, now + absl::Minutes(5));
    r.spiffe_id = e.spiffe_id();
    r.issued_at = now;
    r.expires_at = now + absl::Minutes(5);
    return r;
  }
  std::atomic<int> calls{0};

 private:
  const TestCa* ca_;
};

spirecvm::types::Entry MakeEntry(const std::string& id, const std::string& spiffe_id, const std::string& selector,
                                 int64_t rev = 1) {
  spirecvm::types::Entry e;
  e.set_id(id);
  e.set_spiffe_id(spiffe_id);
  e.set_parent_id("spiffe://example.org/spire/agent/join_token/x");
  auto colon = selector.find(':');
  auto* s = e.add_selectors();
  s->set_type(selector.substr(0, colon));
  s->set_value(selector.substr(colon + 1));
  e.set_revision_number(rev);
  return e;
}

class WorkloadApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = TestCa::Make(absl::Now());
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("wlapi-", getpid(), "-", counter_++);
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "api.sock").string();
    cache_ = Cache::Create(RealClock::Get(), 100);
    cache_->SetBundle(ca_.Bundle());
    minter_ = std::make_unique<FakeMinter>(&ca_);
    attestor_ = std::make_unique<UnixAttestor>(UnixAttestorConfig{});
    WorkloadApiDeps deps;
    deps.cache = cache_;
    deps.attestor = attestor_.get();
    deps.minter = minter_.get();
    deps.peers = &peers_;
    deps.pool = &pool_;
    deps.clock = &RealClock::Get();
    deps.max_streams_per_uid = max_streams_per_uid_;
    deps.max_streams_per_connection = max_streams_per_connection_;
    deps.metrics = &metrics_;
    auto ep = WorkloadEndpoint::Start(socket_, std::move(deps));
    ASSERT_TRUE(ep.ok()) << ep.status();
    endpoint_ = std::move(*ep);
    channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
    stub_ = SpiffeWorkloadAPI::NewStub(channel_);
  }
  void TearDown() override {
    stub_.reset();
    channel_.reset();
    endpoint_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string UidSelector() const { return absl::StrCat("unix:uid:", getuid()); }

  void AddEntryWithSvid(const std::string& id, const std::string& spiffe_id, absl::Duration ttl = absl::Hours(1)) {
    cache_->ApplySync({MakeEntry(id, spiffe_id, UidSelector())}, {});
    StoreSvid(id, spiffe_id, ttl);
  }
  void StoreSvid(const std::string& id, const std::string& spiffe_id, absl::Duration ttl = absl::Hours(1)) {
    auto key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
    auto rec = std::make_shared<X509SvidRecord>();
    rec->entry_id = id;
    rec->entry_revision = 1;
    rec->spiffe_id = spiffe_id;
    absl::Time now = absl::Now();
    rec->chain_der = {ca_.Sign(spiffe_id, key.get(), now - absl::Minutes(1), now + ttl)};
    rec->key_pkcs8_der = *crypto::PrivateKeyToPkcs8Der(key.get());
    rec->not_before = now - absl::Minutes(1);
    rec->not_after = now + ttl;
    cache_->StoreSvids({rec});
  }

  std::unique_ptr<grpc::ClientContext> Ctx(bool header = true) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (header) ctx->AddMetadata("workload.spiffe.io", "true");
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  static inline int counter_ = 0;
  telemetry::Registry metrics_{"spire_agent"};
  size_t max_streams_per_uid_ = 8192;
  int max_streams_per_connection_ = 256;
  TestCa ca_;
  std::filesystem::path dir_;
  std::string socket_;
  std::shared_ptr<Cache> cache_;
  std::unique_ptr<FakeMinter> minter_;
  std::unique_ptr<UnixAttestor> attestor_;
  PeerRegistry peers_;
  WorkerPool pool_{2};
  std::unique_ptr<WorkloadEndpoint> endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub_;
};

// One uid cannot hold more than max_streams_per_uid watchers (whatever the number of connections); a closed stream
// gives its slot back.
class WorkloadApiLimitsTest : public WorkloadApiTest {
 protected:
  void SetUp() override {
    max_streams_per_uid_ = 3;
    WorkloadApiTest::SetUp();
  }
};

class WorkloadApiConnLimitTest : public WorkloadApiTest {
 protected:
  void SetUp() override {
    max_streams_per_connection_ = 2;
    WorkloadApiTest::SetUp();
  }
};

TEST_F(WorkloadApiLimitsTest, StreamsPerUidAreBounded) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  struct Watch {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<SpiffeWorkloadAPI::Stub> stub;
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<X509SVIDResponse>> reader;
  };
  std::vector<Watch> open;
  for (int i = 0; i < 3; ++i) {  // one per connection: the per-connection bound is not what refuses the 4th
    Watch w;
    w.channel = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
    w.stub = SpiffeWorkloadAPI::NewStub(w.channel);
    w.ctx = Ctx();
    w.reader = w.stub->FetchX509SVID(w.ctx.get(), X509SVIDRequest());
    X509SVIDResponse r;
    ASSERT_TRUE(w.reader->Read(&r)) << i;
    open.push_back(std::move(w));
  }
  ASSERT_EQ(endpoint_->service().streams().InUse(getuid()), 3u);
  auto ctx = Ctx();
  auto reader = stub_->FetchX509SVID(ctx.get(), X509SVIDRequest());
  X509SVIDResponse r;
  EXPECT_FALSE(reader->Read(&r)) << "in use " << endpoint_->service().streams().InUse(getuid()) << " max "
                                 << endpoint_->service().deps().max_streams_per_uid;
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("too many open Workload API streams"), std::string::npos);
  // Closing one frees its slot.
  open[0].ctx->TryCancel();
  open[0].reader->Finish();
  std::string last_error;
  bool reopened = false;
  for (int attempt = 0; attempt < 200 && !reopened; ++attempt) {  // the slot returns when the server finishes
    auto c = Ctx();
    auto again = stub_->FetchX509SVID(c.get(), X509SVIDRequest());
    reopened = again->Read(&r);
    if (reopened) c->TryCancel();
    last_error = again->Finish().error_message();
    if (!reopened) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(reopened) << "slot never returned: " << last_error;
  for (size_t i = 1; i < open.size(); ++i) {
    open[i].ctx->TryCancel();
    open[i].reader->Finish();
  }
}

// A connection may not open more than max_streams_per_connection streams at once: the next waits (here until its
// deadline) instead of costing the agent a subscription.
TEST_F(WorkloadApiConnLimitTest, StreamsPerConnectionAreBounded) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::unique_ptr<grpc::ClientReader<X509SVIDResponse>>> readers;
  for (int i = 0; i < 2; ++i) {
    ctxs.push_back(Ctx());
    readers.push_back(stub_->FetchX509SVID(ctxs.back().get(), X509SVIDRequest()));
    X509SVIDResponse r;
    ASSERT_TRUE(readers.back()->Read(&r)) << i;
  }
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("workload.spiffe.io", "true");
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  auto third = stub_->FetchX509SVID(ctx.get(), X509SVIDRequest());
  X509SVIDResponse r;
  EXPECT_FALSE(third->Read(&r));
  EXPECT_EQ(third->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(endpoint_->service().streams().InUse(getuid()), 2u);
  for (size_t i = 0; i < readers.size(); ++i) {
    ctxs[i]->TryCancel();
    readers[i]->Finish();
  }
}

TEST(WorkerPoolTest, QueueIsBounded) {
  WorkerPool pool(1, 2);
  std::mutex gate;
  gate.lock();
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.Submit([&] {
    started = true;
    std::lock_guard<std::mutex> l(gate);
    ++ran;
  }));
  while (!started) std::this_thread::yield();  // the only worker is now busy
  EXPECT_TRUE(pool.Submit([&] { ++ran; }));
  EXPECT_TRUE(pool.Submit([&] { ++ran; }));
  EXPECT_FALSE(pool.Submit([&] { ++ran; }));  // queue full: refused, not run
  gate.unlock();
  pool.Stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(pool.Submit([] {}));  // stopped
}

TEST_F(WorkloadApiTest, MissingSecurityHeaderIsInvalidArgument) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  auto ctx = Ctx(false);
  auto reader = stub_->FetchX509SVID(ctx.get(), X509SVIDRequest());
  X509SVIDResponse resp;
  EXPECT_FALSE(reader->Read(&resp));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  JWTSVIDRequest jreq;
  jreq.add_audience("a");
  JWTSVIDResponse jresp;
  auto ctx2 = Ctx(false);
  EXPECT_EQ(stub_->FetchJWTSVID(ctx2.get(), jreq, &jresp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WorkloadApiTest, NoMatchingEntryIsPermissionDenied) {
  cache_->ApplySync({MakeEntry("e1", "spiffe://example.org/other", "unix:uid:4242424")}, {});
  auto ctx = Ctx();
  auto reader = stub_->FetchX509SVID(ctx.get(), X509SVIDRequest());
  X509SVIDResponse resp;
  EXPECT_FALSE(reader->Read(&resp));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();

  auto ctx2 = Ctx();
  auto breader = stub_->FetchX509Bundles(ctx2.get(), X509BundlesRequest());
  X509BundlesResponse bresp;
  EXPECT_FALSE(breader->Read(&bresp));
  EXPECT_EQ(breader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(WorkloadApiTest, FetchX509SvidAndBundles) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  auto ctx = Ctx();
  auto reader = stub_->FetchX509SVID(ctx.get(), X509SVIDRequest());
  X509SVIDResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  ASSERT_EQ(resp.svids_size(), 1);
  EXPECT_EQ(resp.svids(0).spiffe_id(), "spiffe://example.org/w1");
  EXPECT_EQ(resp.svids(0).bundle(), crypto::CertToDer(ca_.cert.get()));
  auto key = crypto::PrivateKeyFromDer(resp.svids(0).x509_svid_key());
  ASSERT_TRUE(key.ok());
  auto certs = crypto::ParseCertsDerConcat(resp.svids(0).x509_svid());
  ASSERT_TRUE(certs.ok());
  EXPECT_EQ(*crypto::CertSpkiDer((*certs)[0].get()), *crypto::PublicKeyToDer(key->get()));
  ctx->TryCancel();
  reader->Finish();

  auto ctx2 = Ctx();
  auto breader = stub_->FetchX509Bundles(ctx2.get(), X509BundlesRequest());
  X509BundlesResponse bresp;
  ASSERT_TRUE(breader->Read(&bresp));
  EXPECT_EQ(bresp.bundles().at("spiffe://example.org"), crypto::CertToDer(ca_.cert.get()));
  ctx2->TryCancel();
  breader->Finish();

  auto ctx3 = Ctx();
  auto jreader = stub_->FetchJWTBundles(ctx3.get(), JWTBundlesRequest());
  JWTBundlesResponse jresp;
  ASSERT_TRUE(jreader->Read(&jresp));
  EXPECT_NE(jresp.bundles().at("spiffe://example.org").find("jwt-svid"), std::string::npos);
  ctx3->TryCancel();
  jreader->Finish();
}

TEST_F(WorkloadApiTest, ManyWatchersSeeRotationAndRemoval) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  AddEntryWithSvid("e2", "spiffe://example.org/w2");
  constexpr int kWatchers = 200;
  struct Watch {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<X509SVIDResponse>> reader;
  };
  std::vector<Watch> watches;
  for (int i = 0; i < kWatchers; ++i) {
    Watch w;
    w.ctx = Ctx();
    w.reader = stub_->FetchX509SVID(w.ctx.get(), X509SVIDRequest());
    watches.push_back(std::move(w));
  }
  std::vector<std::string> first_leaf(kWatchers);
  for (int i = 0; i < kWatchers; ++i) {
    X509SVIDResponse r;
    ASSERT_TRUE(watches[i].reader->Read(&r)) << i;
    ASSERT_EQ(r.svids_size(), 2);
    first_leaf[i] = r.svids(0).x509_svid();
  }
  EXPECT_EQ(cache_->subscriber_count(), static_cast<size_t>(kWatchers));
  // Rotation: a new SVID for e1 reaches every watcher.
  StoreSvid("e1", "spiffe://example.org/w1");
  for (int i = 0; i < kWatchers; ++i) {
    X509SVIDResponse r;
    ASSERT_TRUE(watches[i].reader->Read(&r)) << i;
    ASSERT_EQ(r.svids_size(), 2);
    EXPECT_NE(r.svids(0).x509_svid(), first_leaf[i]);
  }
  // Removal: e2 disappears from the next message.
  cache_->ApplySync({}, {"e2"});
  for (int i = 0; i < kWatchers; ++i) {
    X509SVIDResponse r;
    ASSERT_TRUE(watches[i].reader->Read(&r)) << i;
    ASSERT_EQ(r.svids_size(), 1);
    EXPECT_EQ(r.svids(0).spiffe_id(), "spiffe://example.org/w1");
  }
  // Last entry removed: the stream ends with PermissionDenied.
  cache_->ApplySync({}, {"e1"});
  for (int i = 0; i < kWatchers; ++i) {
    X509SVIDResponse r;
    EXPECT_FALSE(watches[i].reader->Read(&r));
    EXPECT_EQ(watches[i].reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  for (int i = 0; i < 100 && cache_->subscriber_count() > 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(cache_->subscriber_count(), 0u);
}

TEST_F(WorkloadApiTest, CancelledWatchersUnsubscribe) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  for (int i = 0; i < 20; ++i) {
    auto ctx = Ctx();
    auto reader = stub_->FetchX509SVID(ctx.get(), X509SVIDRequest());
    X509SVIDResponse r;
    ASSERT_TRUE(reader->Read(&r));
    ctx->TryCancel();
    reader->Finish();
  }
  for (int i = 0; i < 100 && cache_->subscriber_count() > 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(cache_->subscriber_count(), 0u);
}

TEST_F(WorkloadApiTest, FetchAndValidateJwt) {
  AddEntryWithSvid("e1", "spiffe://example.org/w1");
  JWTSVIDRequest req;
  req.add_audience("aud1");
  JWTSVIDResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(stub_->FetchJWTSVID(ctx.get(), req, &resp).ok());
  ASSERT_EQ(resp.svids_size(), 1);
  EXPECT_EQ(resp.svids(0).spiffe_id(), "spiffe://example.org/w1");
  // Cached until half life: a second fetch does not mint again.
  JWTSVIDResponse resp2;
  auto ctx2 = Ctx();
  ASSERT_TRUE(stub_->FetchJWTSVID(ctx2.get(), req, &resp2).ok());
  EXPECT_EQ(resp2.svids(0).svid(), resp.svids(0).svid());
  EXPECT_EQ(minter_->calls.load(), 1);

  ValidateJWTSVIDRequest v;
  v.set_audience("aud1");
  v.set_svid(resp.svids(0).svid());
  ValidateJWTSVIDResponse vresp;
  auto ctx3 = Ctx();
  grpc::Status st = stub_->ValidateJWTSVID(ctx3.get(), v, &vresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(vresp.spiffe_id(), "spiffe://example.org/w1");
  EXPECT_EQ(vresp.claims().fields().at("sub").string_value(), "spiffe://example.org/w1");

  v.set_audience("other");
  auto ctx4 = Ctx();
  EXPECT_EQ(stub_->ValidateJWTSVID(ctx4.get(), v, &vresp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  JWTSVIDRequest none;
  auto ctx5 = Ctx();
  EXPECT_EQ(stub_->FetchJWTSVID(ctx5.get(), none, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  JWTSVIDRequest other_id;
  other_id.add_audience("aud1");
  other_id.set_spiffe_id("spiffe://example.org/not-mine");
  JWTSVIDResponse resp3;
  auto ctx6 = Ctx();
  EXPECT_EQ(stub_->FetchJWTSVID(ctx6.get(), other_id, &resp3).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(WorkloadApiTest, HealthServiceServes) {
  auto hs = endpoint_->server().GetHealthCheckService();
  ASSERT_NE(hs, nullptr);
}

// SPIRE's call counters: each call once, labelled with its status; the connection counted at accept.
TEST_F(WorkloadApiTest, CountsCallsAndConnections) {
  JWTSVIDRequest req;
  req.add_audience("aud1");
  JWTSVIDResponse resp;
  auto ctx = Ctx(/*header=*/false);
  EXPECT_EQ(stub_->FetchJWTSVID(ctx.get(), req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto ctx2 = Ctx(/*header=*/false);
  EXPECT_EQ(stub_->FetchJWTSVID(ctx2.get(), req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(metrics_.Value("rpc_workload_api_fetch_jwtsvid", {{"status", "InvalidArgument"}}), 2u);
  EXPECT_EQ(metrics_.Value("rpc_workload_api_fetch_jwtsvid", {{"status", "OK"}}), 0u);
  EXPECT_EQ(metrics_.Value("workload_api_connection"), 1u);
}

TEST(PeerRegistryTest, FdFromPeer) {
  EXPECT_EQ(PeerRegistry::FdFromPeer("fd:12"), 12);
  EXPECT_EQ(PeerRegistry::FdFromPeer("ipv4:1.2.3.4:5"), std::nullopt);
  EXPECT_EQ(PeerRegistry::FdFromPeer("fd:x"), std::nullopt);
}

}  // namespace
}  // namespace spirecvm::agent
