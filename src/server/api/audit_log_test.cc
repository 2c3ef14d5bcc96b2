#include "server/api/audit_log.h"

#include <gtest/gtest.h>

#include "spire/api/server/agent/v1/agent.pb.h"
#include "spire/api/server/entry/v1/entry.pb.h"
#include "spire/api/server/svid/v1/svid.pb.h"

namespace spirecvm::server {
namespace {

namespace agentv1 = ::spire::api::server::agent::v1;

std::string Field(const std::vector<std::pair<std::string, std::string>>& f, const std::string& k) {
  for (const auto& [key, v] : f) {
    if (key == k) return v;
  }
  return "<absent>";
}

TEST(AuditLog, AttestAgentLogsTheTypeButNeverPayloadOrCsr) {
  agentv1::AttestAgentRequest req;
  req.mutable_params()->mutable_data()->set_type("aws_iid");
  req.mutable_params()->mutable_data()->set_payload("{\"document\":\"SECRET-PAYLOAD\"}");
  req.mutable_params()->mutable_params()->set_csr("SECRET-CSR");
  auto f = AuditRequestFields(req);
  EXPECT_EQ(Field(f, "request.params.data.type"), "\"aws_iid\"");
  for (const auto& [k, v] : f) {
    EXPECT_EQ(v.find("SECRET"), std::string::npos) << k;
    EXPECT_EQ(k.find("payload"), std::string::npos);
    EXPECT_EQ(k.find("csr"), std::string::npos);
  }
}

TEST(AuditLog, ChallengeResponsesAndTokensAreNeverLogged) {
  agentv1::AttestAgentRequest answer;
  answer.set_challenge_response("SECRET-NONCE-ANSWER");
  EXPECT_TRUE(AuditRequestFields(answer).empty());
  agentv1::CreateJoinTokenRequest jt;
  jt.set_token("SECRET-TOKEN");
  jt.set_ttl(600);
  auto f = AuditRequestFields(jt);
  EXPECT_EQ(Field(f, "request.ttl"), "600");
  EXPECT_EQ(Field(f, "request.token"), "<absent>");
}

TEST(AuditLog, BanRequestNamesTheAgent) {
  agentv1::BanAgentRequest req;
  req.mutable_id()->set_trust_domain("example.org");
  req.mutable_id()->set_path("/spire/agent/x");
  auto f = AuditRequestFields(req);
  EXPECT_EQ(Field(f, "request.id.trust_domain"), "\"example.org\"");
  EXPECT_EQ(Field(f, "request.id.path"), "\"/spire/agent/x\"");
}

TEST(AuditLog, LineIsOneLineWhateverTheCallerSent) {
  AuditRecord r;
  r.method = "/spire.api.server.agent.v1.Agent/AttestAgent";
  r.caller_addr = "ipv4:127.0.0.1:4000";
  r.caller_id = "spiffe://example.org/x\ntype=audit status=success";
  r.status_code = 7;
  r.status_message = "refused: \"quoted\"\r\ntype=audit status=success";
  std::string line = FormatAuditLine(r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_EQ(line.rfind("type=audit method=\"/spire.api.server.agent.v1.Agent/AttestAgent\"", 0), 0u) << line;
  EXPECT_NE(line.find(" presented_id=\"spiffe://example.org/x\\ntype=audit"), std::string::npos) << line;
  EXPECT_NE(line.find(" status=error status_code=PermissionDenied status_message=\"refused: \\\"quoted\\\""),
            std::string::npos)
      << line;
}

TEST(AuditLog, SuccessfulCallNamesTheVerifiedCaller) {
  AuditRecord r;
  r.method = "/spire.api.server.svid.v1.SVID/BatchNewX509SVID";
  r.caller_addr = "ipv4:127.0.0.1:4000";
  r.caller_id = "spiffe://example.org/spire/agent/a";
  r.caller_verified = true;
  r.fields = {{"request.params.count", "1"}};
  EXPECT_EQ(FormatAuditLine(r),
            "type=audit method=\"/spire.api.server.svid.v1.SVID/BatchNewX509SVID\" caller_addr=\"ipv4:127.0.0.1:4000\" "
            "caller_id=\"spiffe://example.org/spire/agent/a\" status=success status_code=OK request.params.count=1");
}

TEST(AuditLog, LongValuesAreTruncated) {
  agentv1::AttestAgentRequest req;
  req.mutable_params()->mutable_data()->set_type(std::string(5000, 'a'));
  auto v = Field(AuditRequestFields(req), "request.params.data.type");
  EXPECT_LT(v.size(), 300u);
  EXPECT_NE(v.find("..."), std::string::npos);
}

// gRPC's default health service receives raw ByteBuffers: reading one as a Message crashed the server on the first
// `healthcheck` with the audit log on (found by the attack suite).
TEST(AuditLog, OnlyGeneratedProtobufRequestsAreRead) {
  EXPECT_TRUE(HasProtobufRequest("/spire.api.server.agent.v1.Agent/AttestAgent"));
  // A method is known once its generated file is linked (the server links every service it registers).
  ASSERT_NE(::spire::api::server::entry::v1::ListEntriesRequest::descriptor(), nullptr);
  EXPECT_TRUE(HasProtobufRequest("/spire.api.server.entry.v1.Entry/ListEntries"));
  EXPECT_FALSE(HasProtobufRequest("/grpc.health.v1.Health/Check"));
  EXPECT_FALSE(HasProtobufRequest("/no.such.Service/Method"));
  EXPECT_FALSE(HasProtobufRequest(""));
  EXPECT_FALSE(HasProtobufRequest("spire.api.server.agent.v1.Agent.AttestAgent"));
}

TEST(AuditLog, FirstFailedItemFindsTheFirstRefusedBatchItem) {
  ::spire::api::server::svid::v1::BatchNewX509SVIDResponse resp;
  resp.add_results()->mutable_status()->set_code(0);
  auto* refused = resp.add_results()->mutable_status();
  refused->set_code(7);  // PERMISSION_DENIED
  refused->set_message("CSR asks for a CA certificate");
  resp.add_results()->mutable_status()->set_code(3);
  auto f = FirstFailedItem(resp);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->index, 1);
  EXPECT_EQ(f->code, 7);
  EXPECT_EQ(f->message, "CSR asks for a CA certificate");
}

TEST(AuditLog, FirstFailedItemIsNoneWhenEveryItemSucceeded) {
  ::spire::api::server::entry::v1::BatchCreateEntryResponse resp;
  resp.add_results()->mutable_status()->set_code(0);
  resp.add_results()->mutable_status()->set_code(0);
  EXPECT_FALSE(FirstFailedItem(resp).has_value());
  EXPECT_FALSE(FirstFailedItem(::spire::api::server::entry::v1::BatchCreateEntryResponse{}).has_value());
}

TEST(AuditLog, FirstFailedItemIgnoresMessagesWithoutBatchResults) {
  agentv1::AttestAgentResponse resp;  // not a batch answer
  EXPECT_FALSE(FirstFailedItem(resp).has_value());
}

}  // namespace
}  // namespace spirecvm::server
