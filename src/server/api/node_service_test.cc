#include "server/api/node_service.h"

#include <deque>

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "server/api/agent_auth.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/keymanager/key_manager.h"
#include "server/nodeattest/join_token_attestor.h"
#include "server/testing/scripted_attestor.h"
#include "server/testing/server_parts_test_base.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {
namespace {

// An attestor for tests: a fixed agent ID, an optional number of challenge rounds, configurable re-attestation.
using server::testing::ScriptedAttestor;

class FakeStream final : public AttestStream {
 public:
  std::deque<agent::v1::AttestAgentRequest> in;
  std::vector<agent::v1::AttestAgentResponse> out;
  bool answer_challenges = true;
  bool Read(agent::v1::AttestAgentRequest* req) override {
    if (in.empty()) return false;
    *req = in.front();
    in.pop_front();
    return true;
  }
  bool Write(const agent::v1::AttestAgentResponse& resp) override {
    out.push_back(resp);
    if (resp.has_challenge() && answer_challenges) {
      agent::v1::AttestAgentRequest r;
      r.set_challenge_response("answer-" + resp.challenge());
      in.push_back(r);
    }
    return true;
  }
};

// Builds only what attestation and agent authentication use: no configuration, no admin service, no endpoints.
class NodeServiceTest : public server::testing::ServerPartsTest {
 protected:
  void SetUp() override {
    ServerPartsTest::SetUp();
    if (HasFatalFailure()) return;
    auto scripted = std::make_unique<ScriptedAttestor>();
    scripted_ = scripted.get();
    attestors_["scripted"] = std::move(scripted);
    attestors_["join_token"] = NewJoinTokenAttestor(td_, *ds_, clock_);
    key_ = std::move(*crypto::GenerateKey(crypto::KeyType::kEcP256));
  }

  AttestationDeps Deps() { return {attestors_, *ds_, *ca_, absl::Hours(1)}; }
  AgentAuthDeps Auth() { return {td_, *ds_, *bundle_, clock_}; }

  agent::v1::AttestAgentRequest Params(const std::string& type, const std::string& payload, const std::string& csr) {
    agent::v1::AttestAgentRequest r;
    r.mutable_params()->mutable_data()->set_type(type);
    r.mutable_params()->mutable_data()->set_payload(payload);
    r.mutable_params()->set_csr(csr);
    return r;
  }
  std::string Csr() { return *crypto::CreateCsr(key_.get(), std::nullopt); }
  absl::Status Attest(FakeStream& s, const std::string& type, const std::string& payload, const std::string& csr) {
    s.in.push_back(Params(type, payload, csr));
    return RunAttestation(Deps(), s);
  }
  std::string ChainPem(const types::X509SVID& svid) {
    std::string pem;
    for (auto& d : svid.cert_chain()) pem += crypto::CertToPem(crypto::ParseCertDer(d)->get());
    return pem;
  }
  int64_t NodeCount() { return *ds_->CountAttestedNodes(); }

  NodeAttestors attestors_;
  ScriptedAttestor* scripted_ = nullptr;
  ssl::EvpPkeyPtr key_;
};

TEST_F(NodeServiceTest, SuccessfulAttestationStoresTheNodeAndIssuesAVerifiableSvid) {
  FakeStream s;
  ASSERT_TRUE(Attest(s, "scripted", "n1", Csr()).ok());
  ASSERT_EQ(s.out.size(), 1u);
  ASSERT_TRUE(s.out[0].has_result());
  const auto& svid = s.out[0].result().svid();
  EXPECT_EQ(svid.spiffe_id(), "spiffe://example.org/spire/agent/scripted/n1");
  auto node = ds_->FetchAttestedNode(svid.spiffe_id());
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->attestation_type, "scripted");
  ASSERT_EQ(node->selectors.size(), 1u);
  EXPECT_EQ(node->selectors[0].value, "node:n1");
  auto leaf = crypto::ParseCertDer(svid.cert_chain(0));
  EXPECT_EQ(crypto::SerialDecimal(leaf->get()), node->cert_serial);
  // The SVID authenticates later calls.
  auto a = AuthenticateAgentChain(Auth(), ChainPem(svid));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->spiffe_id, svid.spiffe_id());
}

// Attestors never write the node (nodeattest/node_attestor.h): RunAttestation is the one place that does,
// and only for an accepted attestation.
TEST_F(NodeServiceTest, RefusedAttestationStoresNoNodeAndAnAcceptedOneStoresIt) {
  FakeStream refused;
  EXPECT_TRUE(absl::IsInvalidArgument(Attest(refused, "scripted", "bad", Csr())));
  EXPECT_TRUE(absl::IsNotFound(ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/bad").status()));
  FakeStream unknown_token;
  EXPECT_TRUE(absl::IsPermissionDenied(Attest(unknown_token, "join_token", "no-such-token", Csr())));
  EXPECT_EQ(NodeCount(), 0);

  FakeStream accepted;
  ASSERT_TRUE(Attest(accepted, "scripted", "n1", Csr()).ok());
  EXPECT_EQ(NodeCount(), 1);
  auto node = ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/n1");
  ASSERT_TRUE(node.ok()) << node.status();
  const std::string serial = node->cert_serial;

  // A refused second attestation leaves the stored node as it was.
  FakeStream again;
  EXPECT_TRUE(absl::IsPermissionDenied(Attest(again, "scripted", "n1", Csr())));
  EXPECT_EQ(NodeCount(), 1);
  EXPECT_EQ(ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/n1")->cert_serial, serial);
}

TEST_F(NodeServiceTest, ChallengeRoundsAreCarriedOnTheStream) {
  scripted_->rounds = 3;
  FakeStream s;
  ASSERT_TRUE(Attest(s, "scripted", "n1", Csr()).ok());
  ASSERT_EQ(s.out.size(), 4u);
  EXPECT_TRUE(s.out[0].has_challenge() || !s.out[0].challenge().empty());
  EXPECT_TRUE(s.out[3].has_result());
}

TEST_F(NodeServiceTest, UnansweredChallengeFailsAndStoresNothing) {
  scripted_->rounds = 1;
  FakeStream s;
  s.answer_challenges = false;
  auto st = Attest(s, "scripted", "n1", Csr());
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeServiceTest, MalformedCsrIsRejectedBeforeTheTokenIsSpent) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok", absl::ToUnixSeconds(clock_.Now()) + 600}).ok());
  FakeStream s;
  auto st = Attest(s, "join_token", "tok", "not a csr");
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(std::string(st.message()).find("CSR"), std::string::npos);
  EXPECT_EQ(NodeCount(), 0);
  FakeStream s2;
  EXPECT_TRUE(Attest(s2, "join_token", "tok", Csr()).ok()) << "the token was not consumed by the failed attempt";
}

TEST_F(NodeServiceTest, CsrWithBadSignatureIsRejected) {
  std::string csr = Csr();
  csr[csr.size() - 5] ^= 0x01;  // inside the signature
  FakeStream s;
  auto st = Attest(s, "scripted", "n1", csr);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeServiceTest, OversizedPayloadUnknownTypeAndMissingParams) {
  FakeStream s;
  EXPECT_TRUE(absl::IsInvalidArgument(Attest(s, "scripted", std::string(kMaxAttestationPayload + 1, 'a'), Csr())));
  FakeStream s2;
  auto st = Attest(s2, "k8s_psat", "x", Csr());
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(std::string(st.message()).find("k8s_psat"), std::string::npos);
  FakeStream s3;
  agent::v1::AttestAgentRequest r;
  r.set_challenge_response("x");
  s3.in.push_back(r);
  EXPECT_TRUE(absl::IsInvalidArgument(RunAttestation(Deps(), s3)));
  FakeStream s4;
  EXPECT_TRUE(absl::IsInvalidArgument(Attest(s4, "scripted", "bad", Csr())));
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeServiceTest, SecondAttestationNeedsEvictionUnlessReattestable) {
  FakeStream s;
  ASSERT_TRUE(Attest(s, "scripted", "n1", Csr()).ok());
  FakeStream s2;
  auto st = Attest(s2, "scripted", "n1", Csr());
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_NE(std::string(st.message()).find("already attested"), std::string::npos);
  scripted_->can_reattest = true;
  FakeStream s3;
  EXPECT_TRUE(Attest(s3, "scripted", "n1", Csr()).ok());
  // Banned nodes stay out, re-attestable or not.
  ASSERT_TRUE(ds_->BanAttestedNode("spiffe://example.org/spire/agent/scripted/n1").ok());
  FakeStream s4;
  st = Attest(s4, "scripted", "n1", Csr());
  EXPECT_TRUE(absl::IsPermissionDenied(st));
  EXPECT_NE(std::string(st.message()).find("banned"), std::string::npos);
}

TEST_F(NodeServiceTest, EvictedBannedAndStaleSerialAgentsAreRefused) {
  FakeStream s;
  ASSERT_TRUE(Attest(s, "scripted", "n1", Csr()).ok());
  std::string pem = ChainPem(s.out[0].result().svid());
  const std::string id = "spiffe://example.org/spire/agent/scripted/n1";
  ASSERT_TRUE(AuthenticateAgentChain(Auth(), pem).ok());
  // A stale serial: the node's current serial moved on.
  ASSERT_TRUE(ds_->UpdateAttestedNodeSerials(id, "1", 0, "2", 0).ok());
  auto st = AuthenticateAgentChain(Auth(), pem).status();
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_NE(std::string(st.message()).find("serial"), std::string::npos);
  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());
  EXPECT_TRUE(absl::IsPermissionDenied(AuthenticateAgentChain(Auth(), pem).status()));
  ASSERT_TRUE(ds_->DeleteAttestedNode(id).ok());
  st = AuthenticateAgentChain(Auth(), pem).status();
  EXPECT_TRUE(absl::IsPermissionDenied(st));
  EXPECT_NE(std::string(st.message()).find("not attested"), std::string::npos);
}

TEST_F(NodeServiceTest, CertificatesFromAnotherCaAreNotAgents) {
  auto other_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = td_,
                     .public_key = nullptr,
                     .not_before = clock_.Now() - absl::Minutes(1),
                     .not_after = clock_.Now() + absl::Hours(1)};
  auto other_ca = spiffe::SelfSignCa(other_key->get(), p, rnd_);
  ASSERT_TRUE(other_ca.ok());
  spiffe::X509SvidParams sp{.id = *spiffe::SpiffeId::Parse("spiffe://example.org/spire/agent/scripted/n1"),
                            .public_key = key_.get(),
                            .not_before = clock_.Now() - absl::Minutes(1),
                            .not_after = clock_.Now() + absl::Minutes(30)};
  auto forged = spiffe::SignX509Svid({other_ca->get(), other_key->get()}, sp, rnd_);
  ASSERT_TRUE(forged.ok());
  auto st = AuthenticateAgentChain(Auth(), crypto::CertToPem(forged->get())).status();
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << st;
}

}  // namespace
}  // namespace spirecvm::server
