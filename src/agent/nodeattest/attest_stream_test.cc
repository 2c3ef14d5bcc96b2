#include "agent/nodeattest/attest_stream.h"

#include <gtest/gtest.h>

#include <deque>

#include "agent/nodeattest/join_token.h"

namespace spirecvm::agent {
namespace {

using agentv1::AttestAgentRequest;
using agentv1::AttestAgentResponse;

// Replays scripted server responses and records what the agent wrote.
class ScriptedStream : public AttestStream {
 public:
  bool Write(const AttestAgentRequest& req) override {
    written.push_back(req);
    return true;
  }
  bool Read(AttestAgentResponse* resp) override {
    if (script.empty()) return false;
    *resp = script.front();
    script.pop_front();
    return true;
  }
  absl::Status Finish() override { return final_status; }
  std::deque<AttestAgentResponse> script;
  std::vector<AttestAgentRequest> written;
  absl::Status final_status;
};

// Answers challenge c with "answer:" + c + ":" + spki, so the test sees binding to the key.
class EchoAttestor : public NodeAttestorClient {
 public:
  std::string type() const override { return "echo"; }
  absl::StatusOr<std::unique_ptr<NodeAttestationSession>> Start(const AttestationKeyInfo& key) override {
    struct S : NodeAttestationSession {
      std::string spki;
      absl::StatusOr<std::string> Payload() override { return std::string("evidence"); }
      absl::StatusOr<std::string> AnswerChallenge(std::string_view c) override {
        return "answer:" + std::string(c) + ":" + spki;
      }
    };
    auto s = std::make_unique<S>();
    s->spki = key.spki_der;
    return std::unique_ptr<NodeAttestationSession>(std::move(s));
  }
};

AttestAgentResponse Challenge(const std::string& c) {
  AttestAgentResponse r;
  r.set_challenge(c);
  return r;
}

AttestAgentResponse Result() {
  AttestAgentResponse r;
  r.mutable_result()->mutable_svid()->add_cert_chain("leafder");
  r.mutable_result()->mutable_svid()->mutable_id()->set_trust_domain("example.org");
  r.mutable_result()->mutable_svid()->mutable_id()->set_path("/spire/agent/x");
  r.mutable_result()->set_reattestable(true);
  return r;
}

TEST(AttestStreamTest, JoinTokenNoChallenges) {
  ScriptedStream s;
  s.script.push_back(Result());
  JoinTokenAttestor a("tok123");
  auto r = AttestOverStream(s, a, AttestationKeyInfo{"csr", "spki"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(s.written.size(), 1u);
  EXPECT_EQ(s.written[0].params().data().type(), "join_token");
  EXPECT_EQ(s.written[0].params().data().payload(), "tok123");
  EXPECT_EQ(s.written[0].params().params().csr(), "csr");
  EXPECT_EQ(r->svid().cert_chain(0), "leafder");
  EXPECT_TRUE(r->reattestable());
}

TEST(AttestStreamTest, AnswersEveryChallengeInOrder) {
  ScriptedStream s;
  s.script = {Challenge("n1"), Challenge("n2"), Challenge("n3"), Result()};
  EchoAttestor a;
  auto r = AttestOverStream(s, a, AttestationKeyInfo{"csr", "SPKI"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(s.written.size(), 4u);
  EXPECT_EQ(s.written[0].params().data().payload(), "evidence");
  EXPECT_EQ(s.written[1].challenge_response(), "answer:n1:SPKI");
  EXPECT_EQ(s.written[3].challenge_response(), "answer:n3:SPKI");
}

TEST(AttestStreamTest, ServerRejectionKeepsCode) {
  ScriptedStream s;
  s.final_status = absl::PermissionDeniedError("join token already used");
  JoinTokenAttestor a("tok");
  auto r = AttestOverStream(s, a, AttestationKeyInfo{"csr", "spki"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(r.status()));
  EXPECT_NE(r.status().message().find("already used"), absl::string_view::npos);
}

TEST(AttestStreamTest, JoinTokenRefusesChallenges) {
  ScriptedStream s;
  s.script = {Challenge("n1")};
  JoinTokenAttestor a("tok");
  EXPECT_FALSE(AttestOverStream(s, a, AttestationKeyInfo{"csr", "spki"}).ok());
}

TEST(AttestStreamTest, BoundsChallengeRounds) {
  ScriptedStream s;
  for (int i = 0; i < 100; ++i) s.script.push_back(Challenge("n"));
  EchoAttestor a;
  auto r = AttestOverStream(s, a, AttestationKeyInfo{"csr", "spki"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(r.status()));
}

}  // namespace
}  // namespace spirecvm::agent
