// Node attestation and agent authentication without a wire format: what is stored (only on success), the checks on
// the params, challenge rounds through the channel, re-attestation, bans, and the agent SVID authenticating later
// calls. SPIRE's AttestAgent stream over this is api/spire_agent/agent_service_test.cc.
#include "server/api/node_attestation.h"

#include <deque>

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "server/api/agent_auth.h"
#include "server/api/limits.h"
#include "server/nodeattest/join_token_attestor.h"
#include "server/testing/scripted_attestor.h"
#include "server/testing/server_parts_test_base.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {
namespace {

using server::testing::ScriptedAttestor;

// The agent's side of the challenge rounds: answers "c" with "answer-c" (when answering), records the challenges.
class FakeChannel final : public ChallengeChannel {
 public:
  absl::StatusOr<std::string> Challenge(std::string_view challenge) override {
    challenges.emplace_back(challenge);
    if (!answer) return absl::InvalidArgumentError("attestation stream closed before the challenge was answered");
    return "answer-" + std::string(challenge);
  }
  std::vector<std::string> challenges;
  bool answer = true;
};

// Builds only what attestation and agent authentication use: no configuration, no services, no endpoints.
class NodeAttestationTest : public server::testing::ServerPartsTest {
 protected:
  void SetUp() override {
    ServerPartsTest::SetUp();
    if (HasFatalFailure()) return;
    auto scripted = std::make_unique<ScriptedAttestor>();
    scripted_ = scripted.get();
    attestors_["scripted"] = std::move(scripted);
    attestors_["join_token"] = NewJoinTokenAttestor(td_);
    key_ = std::move(*crypto::GenerateKey(crypto::KeyType::kEcP256));
  }

  AttestationDeps Deps() { return {attestors_, *ds_, *ca_, absl::Hours(1), clock_}; }
  AgentAuthDeps Auth() { return {td_, *ds_, *bundle_, clock_}; }
  std::string Csr() { return *crypto::CreateCsr(key_.get(), std::nullopt); }

  absl::StatusOr<AttestedAgent> Attest(const std::string& type, const std::string& payload, const std::string& csr,
                                       FakeChannel* channel = nullptr) {
    FakeChannel local;
    auto params = CheckAttestationParams(type, payload, csr);
    if (!params.ok()) return params.status();
    return AttestAndStoreNode(Deps(), *params, channel != nullptr ? *channel : local);
  }
  static std::string ChainPem(const SignedX509Svid& svid) {
    std::string pem;
    for (auto& d : svid.chain_der) pem += crypto::CertToPem(crypto::ParseCertDer(d)->get());
    return pem;
  }
  int64_t NodeCount() { return *ds_->CountAttestedNodes(); }

  NodeAttestors attestors_;
  ScriptedAttestor* scripted_ = nullptr;
  ssl::EvpPkeyPtr key_;
};

TEST_F(NodeAttestationTest, SuccessfulAttestationStoresTheNodeAndIssuesAVerifiableSvid) {
  auto r = Attest("scripted", "n1", Csr());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id.ToString(), "spiffe://example.org/spire/agent/scripted/n1");
  auto node = ds_->FetchAttestedNode(r->id.ToString());
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->attestation_type, "scripted");
  ASSERT_EQ(node->selectors.size(), 1u);
  EXPECT_EQ(node->selectors[0].value, "node:n1");
  auto leaf = crypto::ParseCertDer(r->svid.chain_der[0]);
  EXPECT_EQ(crypto::SerialDecimal(leaf->get()), node->cert_serial);
  // The SVID authenticates later calls.
  auto a = AuthenticateAgentChain(Auth(), ChainPem(r->svid));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->spiffe_id, r->id.ToString());
}

// Attestors never write the node (nodeattest/node_attestor.h): AttestAndStoreNode is the one place that does,
// and only for an accepted attestation.
TEST_F(NodeAttestationTest, RefusedAttestationStoresNoNodeAndAnAcceptedOneStoresIt) {
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("scripted", "bad", Csr()).status()));
  EXPECT_TRUE(absl::IsNotFound(ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/bad").status()));
  EXPECT_TRUE(absl::IsPermissionDenied(Attest("join_token", "no-such-token", Csr()).status()));
  EXPECT_EQ(NodeCount(), 0);

  ASSERT_TRUE(Attest("scripted", "n1", Csr()).ok());
  EXPECT_EQ(NodeCount(), 1);
  auto node = ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/n1");
  ASSERT_TRUE(node.ok()) << node.status();
  const std::string serial = node->cert_serial;

  // A refused second attestation leaves the stored node as it was.
  EXPECT_TRUE(absl::IsPermissionDenied(Attest("scripted", "n1", Csr()).status()));
  EXPECT_EQ(NodeCount(), 1);
  EXPECT_EQ(ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/n1")->cert_serial, serial);
}

TEST_F(NodeAttestationTest, ChallengeRoundsGoThroughTheChannel) {
  scripted_->rounds = 3;
  FakeChannel ch;
  ASSERT_TRUE(Attest("scripted", "n1", Csr(), &ch).ok());
  EXPECT_EQ(ch.challenges, (std::vector<std::string>{"challenge-0", "challenge-1", "challenge-2"}));
}

TEST_F(NodeAttestationTest, UnansweredChallengeFailsAndStoresNothing) {
  scripted_->rounds = 1;
  FakeChannel ch;
  ch.answer = false;
  auto st = Attest("scripted", "n1", Csr(), &ch).status();
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeAttestationTest, MalformedCsrIsRejectedBeforeTheTokenIsSpent) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok", absl::ToUnixSeconds(clock_.Now()) + 600}).ok());
  auto st = Attest("join_token", "tok", "not a csr").status();
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(std::string(st.message()).find("CSR"), std::string::npos);
  EXPECT_EQ(NodeCount(), 0);
  EXPECT_TRUE(Attest("join_token", "tok", Csr()).ok()) << "the token was not consumed by the failed attempt";
}

TEST_F(NodeAttestationTest, JoinTokenIsSpentOnlyByTheNodeItAdmits) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok-1", absl::ToUnixSeconds(clock_.Now()) + 60}).ok());
  auto first = Attest("join_token", "tok-1", Csr());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id.ToString(), "spiffe://example.org/spire/agent/join_token/tok-1");
  EXPECT_FALSE(first->can_reattest);
  EXPECT_EQ(NodeCount(), 1);
  // Spent: the second use is refused and changes nothing.
  auto again = Attest("join_token", "tok-1", Csr());
  EXPECT_TRUE(absl::IsPermissionDenied(again.status())) << again.status();
  EXPECT_NE(std::string(again.status().message()).find("already been used"), std::string::npos) << again.status();
  EXPECT_EQ(NodeCount(), 1);
  // Unknown.
  auto unknown = Attest("join_token", "nope", Csr());
  EXPECT_TRUE(absl::IsPermissionDenied(unknown.status())) << unknown.status();
  EXPECT_EQ(NodeCount(), 1);
}

TEST_F(NodeAttestationTest, ExpiredJoinTokenAdmitsNothing) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok-2", absl::ToUnixSeconds(clock_.Now()) + 60}).ok());
  clock_.Advance(absl::Seconds(61));
  auto r = Attest("join_token", "tok-2", Csr());
  EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("expired"), std::string::npos) << r.status();
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeAttestationTest, ARefusedAdmissionLeavesTheJoinTokenUnspent) {
  // The agent ID a token names is already a banned node: the admission is refused, and the token not spent.
  datastore::AttestedNode banned;
  banned.spiffe_id = "spiffe://example.org/spire/agent/join_token/tok-3";
  banned.attestation_type = "join_token";
  banned.banned = true;
  ASSERT_TRUE(ds_->UpsertAttestedNode(banned).ok());
  ASSERT_TRUE(ds_->CreateJoinToken({"tok-3", absl::ToUnixSeconds(clock_.Now()) + 60}).ok());
  auto r = Attest("join_token", "tok-3", Csr());
  EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
  EXPECT_TRUE(ds_->ConsumeJoinToken("tok-3", absl::ToUnixSeconds(clock_.Now())).ok()) << "the token was spent";
}

TEST_F(NodeAttestationTest, CsrWithBadSignatureIsRejected) {
  std::string csr = Csr();
  csr[csr.size() - 5] ^= 0x01;  // inside the signature
  auto st = Attest("scripted", "n1", csr).status();
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeAttestationTest, OversizedPayloadMissingTypeAndUnknownType) {
  EXPECT_TRUE(
      absl::IsInvalidArgument(Attest("scripted", std::string(kMaxAttestationPayload + 1, 'a'), Csr()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("", "x", Csr()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Attest("scripted", "x", "").status()));
  auto st = Attest("k8s_psat", "x", Csr()).status();
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(std::string(st.message()).find("k8s_psat"), std::string::npos);
  EXPECT_EQ(NodeCount(), 0);
}

TEST_F(NodeAttestationTest, SecondAttestationNeedsEvictionUnlessReattestable) {
  ASSERT_TRUE(Attest("scripted", "n1", Csr()).ok());
  auto st = Attest("scripted", "n1", Csr()).status();
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_NE(std::string(st.message()).find("already attested"), std::string::npos);
  scripted_->can_reattest = true;
  auto again = Attest("scripted", "n1", Csr());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->can_reattest);
  // Banned nodes stay out, re-attestable or not.
  ASSERT_TRUE(ds_->BanAttestedNode("spiffe://example.org/spire/agent/scripted/n1").ok());
  st = Attest("scripted", "n1", Csr()).status();
  EXPECT_TRUE(absl::IsPermissionDenied(st));
  EXPECT_NE(std::string(st.message()).find("banned"), std::string::npos);
}

TEST_F(NodeAttestationTest, EvictedBannedAndStaleSerialAgentsAreRefused) {
  auto r = Attest("scripted", "n1", Csr());
  ASSERT_TRUE(r.ok());
  std::string pem = ChainPem(r->svid);
  const std::string id = "spiffe://example.org/spire/agent/scripted/n1";
  ASSERT_TRUE(AuthenticateAgentChain(Auth(), pem).ok());
  // A stale serial: the node's current serial moved on.
  auto cur = ds_->FetchAttestedNode(id);
  ASSERT_TRUE(cur.ok());
  ASSERT_TRUE(ds_->UpdateAttestedNodeSerials(id, {cur->cert_serial, 0, "", 0}, {"1", 0, "2", 0}).ok());
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

// Agent SVIDs are verified once per bundle and validity window (server/verified_svid_cache.h): an SVID accepted
// before is refused once it expires, and a verification is never remembered for a chain that failed.
TEST_F(NodeAttestationTest, AnAcceptedSvidIsRefusedOnceItExpires) {
  auto r = Attest("scripted", "n1", Csr());
  ASSERT_TRUE(r.ok());
  const std::string pem = ChainPem(r->svid);
  ASSERT_TRUE(AuthenticateAgentChain(Auth(), pem).ok());
  ASSERT_TRUE(AuthenticateAgentChain(Auth(), pem).ok()) << "the second call of the same chain";
  const absl::Time not_after = crypto::NotAfter(crypto::ParseCertDer(r->svid.chain_der[0])->get());
  clock_.Set(not_after - absl::Seconds(1));
  ASSERT_TRUE(AuthenticateAgentChain(Auth(), pem).ok()) << "one second before notAfter";
  clock_.Set(not_after);
  auto st = AuthenticateAgentChain(Auth(), pem).status();
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << st;
  EXPECT_NE(std::string(st.message()).find("expired"), std::string::npos) << st;
  clock_.Set(not_after - absl::Seconds(1));
  EXPECT_TRUE(AuthenticateAgentChain(Auth(), pem).ok()) << "the refusal was not remembered";
}

TEST_F(NodeAttestationTest, CertificatesFromAnotherCaAreNotAgents) {
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
  st = AuthenticateAgentChain(Auth(), crypto::CertToPem(forged->get())).status();
  EXPECT_TRUE(absl::IsUnauthenticated(st)) << "refused again, not remembered as verified: " << st;
}

}  // namespace
}  // namespace spirecvm::server
