// The manager against a fake server: attestation, persistence and reuse after restart, re-attestation when the
// server forgets the agent, incremental sync, minting, rotation at half life (fake clock).
#include "agent/manager/manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/nodeattest/join_token.h"
#include "agent/testing/test_ca.h"
#include "common/files.h"
#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {
namespace {

using testing::TestCa;

struct FakeServer {
  TestCa ca;
  const Clock* clock;
  absl::Duration agent_ttl = absl::Hours(2);
  absl::Duration workload_ttl = absl::Hours(1);
  std::map<std::string, spirecvm::types::Entry> entries;
  std::set<std::string> agents;  // attested agent IDs
  int attests = 0, renews = 0, batch_calls = 0, csrs = 0;
  bool reattestable = false;
  std::vector<std::vector<KnownEntry>> sync_requests;

  std::string SignCsr(const std::string& csr, const std::string& id, absl::Duration ttl) {
    auto parsed = crypto::ParseAndVerifyCsr(csr);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    absl::Time now = clock->Now();
    return ca.SignSpki(id, parsed->spki_der, now - absl::Seconds(1), now + ttl);
  }
  static void SetId(const std::string& id, sapi::SPIFFEID* out) {
    auto parsed = spiffe::SpiffeId::Parse(id);
    ASSERT_TRUE(parsed.ok());
    out->set_trust_domain(parsed->trust_domain().name());
    out->set_path(parsed->path());
  }
  void AddEntry(const std::string& id, const std::string& spiffe_id, int64_t rev = 1) {
    spirecvm::types::Entry e;
    e.set_id(id);
    e.set_spiffe_id(spiffe_id);
    auto* s = e.add_selectors();
    s->set_type("unix");
    s->set_value("uid:1000");
    e.set_revision_number(rev);
    entries[id] = e;
  }
};

class FakeClient : public ServerClient {
 public:
  FakeClient(FakeServer* s, bool authed) : s_(s), authed_(authed) {}
  absl::StatusOr<agentv1::AttestAgentResponse::Result> Attest(NodeAttestorClient& a,
                                                              const AttestationKeyInfo& key) override {
    auto session = a.Start(key);
    auto payload = (*session)->Payload();
    std::string id = absl::StrCat("spiffe://example.org/spire/agent/join_token/", *payload);
    s_->agents.insert(id);
    ++s_->attests;
    agentv1::AttestAgentResponse::Result r;
    r.mutable_svid()->add_cert_chain(s_->SignCsr(key.csr_der, id, s_->agent_ttl));
    FakeServer::SetId(id, r.mutable_svid()->mutable_id());
    r.set_reattestable(s_->reattestable);
    return r;
  }
  absl::Status CheckAgent() {
    if (!authed_) return absl::UnauthenticatedError("no client certificate");
    if (s_->agents.empty()) return absl::PermissionDeniedError("agent is not attested or no longer active");
    return absl::OkStatus();
  }
  absl::StatusOr<sapi::X509SVID> RenewAgent(const std::string& csr) override {
    if (auto st = CheckAgent(); !st.ok()) return st;
    if (s_->reattestable) return absl::PermissionDeniedError("agent must reattest instead of renew");
    ++s_->renews;
    sapi::X509SVID out;
    out.add_cert_chain(s_->SignCsr(csr, *s_->agents.begin(), s_->agent_ttl));
    return out;
  }
  absl::StatusOr<svidv1::BatchNewX509SVIDResponse> BatchNewX509Svid(
      const svidv1::BatchNewX509SVIDRequest& req) override {
    if (auto st = CheckAgent(); !st.ok()) return st;
    ++s_->batch_calls;
    svidv1::BatchNewX509SVIDResponse resp;
    for (const auto& p : req.params()) {
      auto* r = resp.add_results();
      auto it = s_->entries.find(p.entry_id());
      if (it == s_->entries.end()) {
        r->mutable_status()->set_code(5);
        continue;
      }
      ++s_->csrs;
      r->mutable_svid()->add_cert_chain(s_->SignCsr(p.csr(), it->second.spiffe_id(), s_->workload_ttl));
      FakeServer::SetId(it->second.spiffe_id(), r->mutable_svid()->mutable_id());
    }
    return resp;
  }
  absl::StatusOr<sapi::JWTSVID> NewJwtSvid(const std::string& entry_id, const std::vector<std::string>& aud) override {
    if (auto st = CheckAgent(); !st.ok()) return st;
    sapi::JWTSVID j;
    absl::Time now = s_->clock->Now();
    j.set_token(s_->ca.Jwt(s_->entries.at(entry_id).spiffe_id(), aud, now, now + absl::Minutes(5)));
    FakeServer::SetId(s_->entries.at(entry_id).spiffe_id(), j.mutable_id());
    j.set_issued_at(absl::ToUnixSeconds(now));
    j.set_expires_at(absl::ToUnixSeconds(now + absl::Minutes(5)));
    return j;
  }
  // The outcome of SPIRE's sync protocol (its wire exchange is entry_sync_test's).
  absl::StatusOr<EntrySyncResult> SyncEntries(const std::vector<KnownEntry>& known) override {
    if (auto st = CheckAgent(); !st.ok()) return st;
    s_->sync_requests.push_back(known);
    std::map<std::string, int64_t> by_id;
    for (const auto& k : known) by_id[k.id] = k.revision_number;
    EntrySyncResult out;
    for (const auto& [id, e] : s_->entries) {
      auto it = by_id.find(id);
      if (it == by_id.end() || it->second != e.revision_number()) out.changed.push_back(e);
    }
    for (const auto& [id, rev] : by_id) {
      if (!s_->entries.contains(id)) out.removed.push_back(id);
    }
    return out;
  }
  absl::StatusOr<sapi::Bundle> GetBundle() override {
    if (auto st = CheckAgent(); !st.ok()) return st;
    sapi::Bundle b;
    b.set_trust_domain("example.org");
    b.add_x509_authorities()->set_asn1(crypto::CertToDer(s_->ca.cert.get()));
    auto* k = b.add_jwt_authorities();
    k->set_key_id(s_->ca.jwt_kid);
    k->set_public_key(*crypto::PublicKeyToDer(s_->ca.jwt_key.get()));
    b.set_sequence_number(1);
    return b;
  }

 private:
  FakeServer* s_;
  bool authed_;
};

class FakeConnector : public ServerConnector {
 public:
  explicit FakeConnector(FakeServer* s) : s_(s) {}
  absl::StatusOr<std::shared_ptr<ServerClient>> Connect(const ServerCredentials& c) override {
    ++connects;
    return std::shared_ptr<ServerClient>(std::make_shared<FakeClient>(s_, !c.chain_der.empty()));
  }
  int connects = 0;

 private:
  FakeServer* s_;
};

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.ca = TestCa::Make(clock_.Now());
    server_.clock = &clock_;
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("mgr-", getpid(), "-", n_++);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  struct Instance {
    std::shared_ptr<Cache> cache;
    std::unique_ptr<DiskKeyManager> keys;
    std::unique_ptr<AgentStorage> storage;
    std::unique_ptr<JoinTokenAttestor> attestor;
    std::unique_ptr<Manager> manager;
  };
  Instance Start() {
    Instance i;
    i.cache = Cache::Create(clock_, 100);
    i.keys = std::make_unique<DiskKeyManager>(dir_.string());
    i.storage = std::make_unique<AgentStorage>(dir_.string(), server_.ca.td);
    i.attestor = std::make_unique<JoinTokenAttestor>("tok");
    ManagerOptions o;
    o.trust_domain = server_.ca.td;
    o.bootstrap_bundle = server_.ca.Bundle(0);
    i.manager = std::make_unique<Manager>(
        o, ManagerDeps{&clock_, &connector_, i.attestor.get(), i.keys.get(), i.storage.get(), i.cache});
    EXPECT_TRUE(i.manager->Init().ok());
    return i;
  }

  static inline int n_ = 0;
  FakeClock clock_{absl::Now()};
  FakeServer server_;
  FakeConnector connector_{&server_};
  std::filesystem::path dir_;
};

TEST_F(ManagerTest, AttestsPersistsAndReusesAfterRestart) {
  server_.AddEntry("e1", "spiffe://example.org/w1");
  {
    Instance a = Start();
    ASSERT_TRUE(a.manager->RunOnce().ok());
    EXPECT_EQ(server_.attests, 1);
    EXPECT_EQ(a.manager->agent_id(), "spiffe://example.org/spire/agent/join_token/tok");
    EXPECT_EQ(a.cache->svid_count(), 1u);
    for (const char* f : {"agent_svid.pem", "agent_svid.key", "bundle.json"}) {
      struct stat st;
      ASSERT_EQ(::stat((dir_ / f).c_str(), &st), 0) << f;
      EXPECT_EQ(st.st_mode & 0777, 0600) << f;
    }
  }
  // "kill -9" and start again: no new attestation, SVIDs minted again.
  Instance b = Start();
  EXPECT_TRUE(b.manager->has_identity());
  ASSERT_TRUE(b.manager->RunOnce().ok());
  EXPECT_EQ(server_.attests, 1);
  EXPECT_EQ(b.cache->svid_count(), 1u);
}

// Persisted agent state damaged between two runs: each case is detected, logged naming the file and the reason, never
// used (no identity after Init), and the next pass attests again.
class CorruptStateTest : public ManagerTest {
 protected:
  void SetUp() override {
    ManagerTest::SetUp();
    server_.AddEntry("e1", "spiffe://example.org/w1");
    Instance a = Start();
    ASSERT_TRUE(a.manager->RunOnce().ok());
    ASSERT_EQ(server_.attests, 1);
  }
  std::string Read(const char* f) { return *files::ReadFile((dir_ / f).string()); }
  void Write(const char* f, const std::string& data) {
    ASSERT_TRUE(files::WriteFileAtomic((dir_ / f).string(), data, 0600).ok());
  }
  // Starts an agent on the damaged data_dir; returns what it logged.
  std::string StartCapturingLog(Instance* out) {
    std::ostringstream log;
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
    *out = Start();
    spdlog::set_default_logger(previous);
    return log.str();
  }
  // The damaged identity is not used, and the next pass attests again and persists a good one.
  void ExpectNotTrustedThenReattests(Instance& i) {
    EXPECT_FALSE(i.manager->has_identity());
    ASSERT_TRUE(i.manager->RunOnce().ok());
    EXPECT_EQ(server_.attests, 2);
    Instance again = Start();
    EXPECT_TRUE(again.manager->has_identity());
  }
};

TEST_F(CorruptStateTest, TruncatedSvid) {
  std::string pem = Read("agent_svid.pem");
  Write("agent_svid.pem", pem.substr(0, pem.size() / 2));
  Instance i;
  std::string log = StartCapturingLog(&i);
  EXPECT_THAT(log, ::testing::HasSubstr("persisted agent identity not trusted"));
  EXPECT_THAT(log, ::testing::HasSubstr((dir_ / "agent_svid.pem").string()));
  ExpectNotTrustedThenReattests(i);
}

TEST_F(CorruptStateTest, BitFlippedSvidSignature) {
  auto certs = crypto::ParseCertsPem(Read("agent_svid.pem"));
  ASSERT_TRUE(certs.ok());
  std::string der = crypto::CertToDer((*certs)[0].get());
  der[der.size() - 5] ^= 0x01;  // inside the signature: still parses, no longer verifies
  auto flipped = crypto::ParseCertDer(der);
  ASSERT_TRUE(flipped.ok());
  Write("agent_svid.pem", crypto::CertToPem(flipped->get()));
  Instance i;
  std::string log = StartCapturingLog(&i);
  EXPECT_THAT(log, ::testing::HasSubstr((dir_ / "agent_svid.pem").string()));
  ExpectNotTrustedThenReattests(i);
}

TEST_F(CorruptStateTest, KeyOfAnotherSvid) {
  auto other = crypto::GenerateKey(crypto::KeyType::kEcP256);
  ASSERT_TRUE(other.ok());
  Write("agent_svid.key", *crypto::PrivateKeyToPem(other->get()));
  Instance i;
  std::string log = StartCapturingLog(&i);
  EXPECT_THAT(log, ::testing::HasSubstr("agent SVID does not match the agent key"));
  ExpectNotTrustedThenReattests(i);
}

// Before: a corrupt key next to a good SVID was logged as "incomplete" without the reason, and a corrupt key next
// to a corrupt SVID was not logged at all.
TEST_F(CorruptStateTest, CorruptKeyAndSvidBothNamed) {
  Write("agent_svid.key", Read("agent_svid.key").substr(0, 40));
  Write("agent_svid.pem", "garbage");
  Instance i;
  std::string log = StartCapturingLog(&i);
  EXPECT_THAT(log, ::testing::HasSubstr("agent key: " + (dir_ / "agent_svid.key").string()));
  EXPECT_THAT(log, ::testing::HasSubstr("agent SVID: " + (dir_ / "agent_svid.pem").string()));
  ExpectNotTrustedThenReattests(i);
}

TEST_F(CorruptStateTest, ExpiredSvid) {
  clock_.Advance(server_.agent_ttl + absl::Minutes(1));
  Instance i;
  std::string log = StartCapturingLog(&i);
  EXPECT_THAT(log, ::testing::HasSubstr("expired"));
  ExpectNotTrustedThenReattests(i);
}

TEST_F(CorruptStateTest, CorruptBundleFallsBackToBootstrap) {
  std::string json = Read("bundle.json");
  Write("bundle.json", json.substr(0, json.size() - 7));
  Instance i;
  std::string log = StartCapturingLog(&i);
  EXPECT_THAT(log, ::testing::HasSubstr("persisted trust bundle not trusted (using the bootstrap bundle)"));
  EXPECT_THAT(log, ::testing::HasSubstr((dir_ / "bundle.json").string()));
  // The SVID still verifies against the bootstrap bundle: reused, no new attestation.
  EXPECT_TRUE(i.manager->has_identity());
}

TEST_F(ManagerTest, ReattestsWhenServerForgetsAgent) {
  server_.AddEntry("e1", "spiffe://example.org/w1");
  Instance a = Start();
  ASSERT_TRUE(a.manager->RunOnce().ok());
  server_.agents.clear();  // evicted
  absl::Status st = a.manager->RunOnce();
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_FALSE(a.manager->has_identity());
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.attests, 2);
}

TEST_F(ManagerTest, IncrementalSyncAndRemoval) {
  server_.AddEntry("e1", "spiffe://example.org/w1");
  server_.AddEntry("e2", "spiffe://example.org/w2");
  Instance a = Start();
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(a.cache->entry_count(), 2u);
  EXPECT_EQ(server_.csrs, 2);
  ASSERT_TRUE(a.manager->RunOnce().ok());
  ASSERT_EQ(server_.sync_requests.size(), 2u);
  EXPECT_EQ(server_.sync_requests[1].size(), 2u);
  EXPECT_EQ(server_.csrs, 2);  // nothing re-minted
  server_.entries.erase("e2");
  server_.AddEntry("e1", "spiffe://example.org/w1-renamed", 2);
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(a.cache->entry_count(), 1u);
  EXPECT_EQ(server_.csrs, 3);  // e1 re-minted for its new revision
  auto u = a.cache->Fetch({"unix:uid:1000"});
  ASSERT_EQ(u.svids.size(), 1u);
  EXPECT_EQ(u.svids[0]->spiffe_id, "spiffe://example.org/w1-renamed");
}

TEST_F(ManagerTest, RotatesAtHalfLife) {
  server_.AddEntry("e1", "spiffe://example.org/w1");
  Instance a = Start();
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.csrs, 1);
  clock_.Advance(absl::Minutes(29));
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.csrs, 1);
  clock_.Advance(absl::Minutes(2));  // past half of the 1h workload SVID
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.csrs, 2);
  EXPECT_EQ(server_.renews, 0);
  clock_.Advance(absl::Minutes(31));  // past half of the 2h agent SVID
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.renews, 1);
  EXPECT_EQ(server_.attests, 1);
}

TEST_F(ManagerTest, ReattestableAgentReattestsInsteadOfRenewing) {
  server_.reattestable = true;
  server_.AddEntry("e1", "spiffe://example.org/w1");
  Instance a = Start();
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.attests, 1);
  clock_.Advance(absl::Minutes(61));  // past half of the 2h agent SVID
  ASSERT_TRUE(a.manager->RunOnce().ok());
  EXPECT_EQ(server_.attests, 2);
  EXPECT_EQ(server_.renews, 0);
  EXPECT_TRUE(a.manager->has_identity());
}

TEST_F(ManagerTest, MintsJwt) {
  server_.AddEntry("e1", "spiffe://example.org/w1");
  Instance a = Start();
  ASSERT_TRUE(a.manager->RunOnce().ok());
  auto j = a.manager->MintJwt(server_.entries["e1"], {"aud"});
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->spiffe_id, "spiffe://example.org/w1");
  EXPECT_EQ(j->expires_at - j->issued_at, absl::Minutes(5));
}

}  // namespace
}  // namespace spirecvm::agent
