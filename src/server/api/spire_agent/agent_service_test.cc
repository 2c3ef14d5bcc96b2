#include "server/api/spire_agent/agent_service.h"

#include <deque>

#include "common/status.h"
#include "server/api/spire_agent/test_fixture.h"
#include "server/api/svid_signing.h"

namespace spirecvm::server::spireagent {
namespace {

// SPIRE's agent's side of AttestAgent: answers "c" with "answer-c" (when answer_challenges).
class FakeStream final : public SpireAttestStream {
 public:
  std::deque<agentv1::AttestAgentRequest> in;
  std::vector<agentv1::AttestAgentResponse> out;
  bool answer_challenges = true;
  bool Read(agentv1::AttestAgentRequest* req) override {
    if (in.empty()) return false;
    *req = in.front();
    in.pop_front();
    return true;
  }
  bool Write(const agentv1::AttestAgentResponse& resp) override {
    out.push_back(resp);
    if (resp.has_challenge() && answer_challenges) {
      agentv1::AttestAgentRequest r;
      r.set_challenge_response("answer-" + resp.challenge());
      in.push_back(r);
    }
    return true;
  }
};

class AgentServiceTest : public SpireAgentApiTest {
 protected:
  // What SPIRE's agent sends first: params {data {type, payload}, params {csr}}.
  absl::Status Attest(FakeStream& s, const std::string& type, const std::string& payload) {
    agentv1::AttestAgentRequest r;
    r.mutable_params()->mutable_data()->set_type(type);
    r.mutable_params()->mutable_data()->set_payload(payload);
    r.mutable_params()->mutable_params()->set_csr(Csr());
    s.in.push_back(r);
    return Run(s);
  }
  // One attestation on `s`, its result written last as the reactor sends it.
  absl::Status Run(FakeStream& s) {
    auto resp = AttestSpireAgent(Deps().Attestation(), s);
    if (!resp.ok()) return resp.status();
    s.out.push_back(*resp);
    return absl::OkStatus();
  }
  // Attests `payload` with the scripted attestor and returns the agent as authentication sees it with that SVID.
  absl::StatusOr<AuthenticatedAgent> AttestAndAuthenticate(const std::string& payload) {
    FakeStream s;
    RETURN_IF_ERROR(Attest(s, "scripted", payload));
    std::string pem;
    for (const auto& d : s.out.back().result().svid().cert_chain()) {
      pem += crypto::CertToPem(crypto::ParseCertDer(d)->get());
    }
    last_pem_ = pem;
    return AuthenticateAgentChain(Deps().Auth(), pem);
  }
  std::string last_pem_;
};

TEST_F(AgentServiceTest, JoinTokenAsSpireSendsItIssuesTheAgentSvidAndStoresTheNode) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok-1", 1'800'000'600}).ok());
  FakeStream s;
  ASSERT_TRUE(Attest(s, "join_token", "tok-1").ok());
  ASSERT_EQ(s.out.size(), 1u);
  const auto& result = s.out[0].result();
  EXPECT_FALSE(result.reattestable());
  EXPECT_EQ(result.svid().id().trust_domain(), "example.org");
  EXPECT_EQ(result.svid().id().path(), "/spire/agent/join_token/tok-1");
  EXPECT_EQ(VerifiedId(result.svid()), "spiffe://example.org/spire/agent/join_token/tok-1");
  EXPECT_GT(result.svid().expires_at(), 1'800'000'000);
  auto node = ds_->FetchAttestedNode("spiffe://example.org/spire/agent/join_token/tok-1");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->attestation_type, "join_token");

  FakeStream again;  // a join token is single-use
  EXPECT_EQ(Attest(again, "join_token", "tok-1").code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(AgentServiceTest, ChallengeRoundsRunOnTheStream) {
  scripted_->rounds = 2;
  FakeStream s;
  ASSERT_TRUE(Attest(s, "scripted", "n1").ok());
  ASSERT_EQ(s.out.size(), 3u);
  EXPECT_EQ(s.out[0].challenge(), "challenge-0");
  EXPECT_EQ(s.out[1].challenge(), "challenge-1");
  EXPECT_EQ(VerifiedId(s.out[2].result().svid()), "spiffe://example.org/spire/agent/scripted/n1");

  FakeStream silent;
  silent.answer_challenges = false;
  EXPECT_EQ(Attest(silent, "scripted", "n2").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ds_->FetchAttestedNode("spiffe://example.org/spire/agent/scripted/n2").ok());
}

TEST_F(AgentServiceTest, MalformedFirstMessagesAreRefusedAndStoreNothing) {
  FakeStream no_params;
  agentv1::AttestAgentRequest r;
  r.set_challenge_response("x");
  no_params.in.push_back(r);
  auto st = Run(no_params);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("params"), std::string::npos) << st;

  FakeStream no_csr;
  agentv1::AttestAgentRequest p;
  p.mutable_params()->mutable_data()->set_type("scripted");
  p.mutable_params()->mutable_data()->set_payload("n1");
  no_csr.in.push_back(p);
  EXPECT_EQ(Run(no_csr).code(), absl::StatusCode::kInvalidArgument);

  FakeStream unknown;
  st = Attest(unknown, "tpm", "x");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("tpm"), std::string::npos) << st;
  EXPECT_EQ(*ds_->CountAttestedNodes(), 0);
}

TEST_F(AgentServiceTest, BannedAgentIsRefused) {
  FakeStream first;
  ASSERT_TRUE(Attest(first, "scripted", "n1").ok());
  ASSERT_TRUE(ds_->BanAttestedNode("spiffe://example.org/spire/agent/scripted/n1").ok());
  FakeStream again;
  auto st = Attest(again, "scripted", "n1");
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("banned"), std::string::npos) << st;
}

// max_attested_node_info_staleness: a call whose serial is the cached record's current one is answered from the
// cache, until the ban's node event is applied or the record is as old as the staleness; without the cache the ban
// is seen at once.
TEST_F(AgentServiceTest, NodeCacheAnswersForTheCachedSerialUntilAnEventOrItsAgeRetiresIt) {
  NodeCache cache(*ds_, clock_, absl::Seconds(30));
  AgentAuthDeps auth = Deps().Auth();
  auth.nodes = &cache;
  ASSERT_TRUE(cache.Refresh().ok());
  ASSERT_TRUE(AttestAndAuthenticate("n1").ok());
  const std::string id = "spiffe://example.org/spire/agent/scripted/n1";
  ASSERT_TRUE(AuthenticateAgentChain(auth, last_pem_).ok());
  EXPECT_EQ(cache.size(), 1u);

  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());
  EXPECT_EQ(AuthenticateAgentChain(Deps().Auth(), last_pem_).status().code(), absl::StatusCode::kPermissionDenied);
  auto cached = AuthenticateAgentChain(auth, last_pem_);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->node.spiffe_id, id);
  ASSERT_TRUE(cache.Refresh().ok());
  auto st = AuthenticateAgentChain(auth, last_pem_).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("banned"), std::string::npos) << st;
  EXPECT_EQ(cache.size(), 0u);

  // Re-admitted (a new attestation, a new serial): the old SVID is refused once the cached record has aged out,
  // even with no event applied.
  ASSERT_TRUE(AttestAndAuthenticate("n2").ok());
  const std::string n2_pem = last_pem_;
  ASSERT_TRUE(AuthenticateAgentChain(auth, n2_pem).ok());
  ASSERT_TRUE(ds_->BanAttestedNode("spiffe://example.org/spire/agent/scripted/n2").ok());
  clock_.Advance(absl::Seconds(29));
  EXPECT_TRUE(AuthenticateAgentChain(auth, n2_pem).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(AuthenticateAgentChain(auth, n2_pem).status().code(), absl::StatusCode::kPermissionDenied);
}

// A serial the cached record does not hold as current is judged by the datastore, never by the cache.
TEST_F(AgentServiceTest, NodeCacheNeverAcceptsASerialItDoesNotHoldAsCurrent) {
  NodeCache cache(*ds_, clock_, absl::Minutes(5));
  AgentAuthDeps auth = Deps().Auth();
  auth.nodes = &cache;
  ASSERT_TRUE(cache.Refresh().ok());
  scripted_->can_reattest = true;
  ASSERT_TRUE(AttestAndAuthenticate("n1").ok());
  const std::string first = last_pem_;
  ASSERT_TRUE(AuthenticateAgentChain(auth, first).ok());
  ASSERT_TRUE(AttestAndAuthenticate("n1").ok());  // re-attested: a new current serial in the datastore
  const std::string second = last_pem_;
  ASSERT_NE(first, second);
  // The cache still holds the first serial (no event applied); the second is checked against the datastore.
  ASSERT_TRUE(AuthenticateAgentChain(auth, second).ok());
  // and that read replaced the cached record, so the first SVID is refused now.
  EXPECT_EQ(AuthenticateAgentChain(auth, first).status().code(), absl::StatusCode::kPermissionDenied);
}

// docs/security.md finding 3: a renewal computed from serials read before another write (the agent re-attested, or
// a copy of its key renewed first) is refused, and the stored serials are the other write's.
TEST_F(AgentServiceTest, RenewalFromStaleSerialsIsRefusedAndOverwritesNothing) {
  scripted_->can_reattest = true;
  scripted_->launch_id = "launch-1";
  auto stale = AttestAndAuthenticate("n1");
  ASSERT_TRUE(stale.ok()) << stale.status();
  // The genuine agent re-attests (same launch): its new SVID is the node's serial now.
  auto fresh = AttestAndAuthenticate("n1");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_NE(fresh->node.cert_serial, stale->node.cert_serial);
  auto st = RenewAgentSvid(Deps(), *stale, Csr()).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_NE(st.message().find("changed since"), std::string::npos) << st;
  auto node = ds_->FetchAttestedNode(fresh->spiffe_id);
  EXPECT_EQ(node->cert_serial, fresh->node.cert_serial);
  EXPECT_EQ(node->new_cert_serial, "");
  // Two renewals from one read: the first wins, the second is refused.
  scripted_->can_reattest = false;
  scripted_->launch_id.clear();
  auto a = AttestAndAuthenticate("n2");
  ASSERT_TRUE(a.ok()) << a.status();
  auto first = RenewAgentSvid(Deps(), *a, Csr());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(RenewAgentSvid(Deps(), *a, Csr()).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ds_->FetchAttestedNode(a->spiffe_id)->new_cert_serial, first->serial);
}

// docs/security.md finding 4: an agent admitted with launch-bound evidence renews only within its attestor's
// re-attestation interval; after it the renewal is refused and no SVID issued.
TEST_F(AgentServiceTest, RenewalAfterTheReattestationIntervalIsRefused) {
  scripted_->launch_id = "launch-1";
  scripted_->max_evidence_age = absl::Minutes(10);
  auto a = AttestAndAuthenticate("n1");
  ASSERT_TRUE(a.ok()) << a.status();
  auto renewed = RenewAgentSvid(Deps(), *a, Csr());
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  clock_.Advance(absl::Minutes(20));  // past the interval, within the SVID's lifetime
  auto again = AuthenticateAgentChain(Deps().Auth(), last_pem_);
  ASSERT_TRUE(again.ok()) << again.status();
  const std::string serial_before = ds_->FetchAttestedNode(a->spiffe_id)->new_cert_serial;
  auto st = RenewAgentSvid(Deps(), *again, Csr()).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_NE(st.message().find("must attest again"), std::string::npos) << st;
  EXPECT_EQ(ds_->FetchAttestedNode(a->spiffe_id)->new_cert_serial, serial_before);
  // Interval zero (the SEV-SNP default): no renewal at all without fresh evidence.
  scripted_->max_evidence_age = absl::ZeroDuration();
  auto b = AttestAndAuthenticate("n2");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(RenewAgentSvid(Deps(), *b, Csr()).status().code(), absl::StatusCode::kPermissionDenied);
  // Evidence that names no launch (join tokens, plain IIDs) is not subject to it.
  scripted_->launch_id.clear();
  auto c = AttestAndAuthenticate("n3");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(RenewAgentSvid(Deps(), *c, Csr()).ok());
}

TEST_F(AgentServiceTest, AdminMethodsArePermissionDeniedOnTheAgentEndpoint) {
  AgentService svc(Deps());
  agentv1::ListAgentsResponse list;
  grpc::Status st = CallUnary([&](auto* ctx) { return svc.ListAgents(ctx, nullptr, &list); });
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("ListAgents"), std::string::npos);
  EXPECT_NE(st.error_message().find("admin socket"), std::string::npos);
  sapi::JoinToken token;
  EXPECT_EQ(CallUnary([&](auto* ctx) { return svc.CreateJoinToken(ctx, nullptr, &token); }).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// SPIRE's authorization policy admits no caller for PostStatus: PermissionDenied, not gRPC's Unimplemented.
TEST_F(AgentServiceTest, PostStatusIsRefusedToEveryCallerAsSpire) {
  AgentService svc(Deps());
  agentv1::PostStatusRequest req;
  agentv1::PostStatusResponse resp;
  grpc::Status st = CallUnary([&](auto* ctx) { return svc.PostStatus(ctx, &req, &resp); });
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "authorization denied for method /spire.api.server.agent.v1.Agent/PostStatus");
}

}  // namespace
}  // namespace spirecvm::server::spireagent
