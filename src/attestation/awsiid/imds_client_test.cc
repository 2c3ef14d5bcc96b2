#include "attestation/awsiid/imds_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/testing/test_util.h"
#include "attestation/awsiid/verifier.h"
#include "imds_emulator/imds_emulator.h"

namespace spirecvm::awsiid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
namespace emu = spirecvm::imds_emulator;

class ImdsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = testing::TestAwsSigner::Generate();
    ASSERT_TRUE(s.ok());
    signer_ = new testing::TestAwsSigner(*std::move(s));
  }
  static void TearDownTestSuite() { delete signer_; }

  emu::Content SignedContent() {
    emu::Content c;
    c.document = testing::MakeDocument({});
    c.rsa2048 = *testing::SignRsa2048(*signer_, c.document);
    c.signature = *testing::SignRsaSignature(*signer_, c.document);
    return c;
  }
  std::unique_ptr<emu::ImdsEmulator> StartEmulator(emu::Content content, bool v1_only = false) {
    emu::Options o;
    o.content = std::move(content);
    o.imdsv1_only = v1_only;
    auto e = emu::ImdsEmulator::Start(o);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *std::move(e) : nullptr;
  }
  std::unique_ptr<ImdsClient> Client(const std::string& endpoint) {
    ImdsClientOptions o;
    o.endpoint = endpoint;
    o.fetch_signature = true;
    o.connect_timeout = absl::Seconds(1);
    o.sleep = [this](absl::Duration d) { sleeps_.push_back(d); };
    auto c = ImdsClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  static testing::TestAwsSigner* signer_;
  std::vector<absl::Duration> sleeps_;
};
testing::TestAwsSigner* ImdsClientTest::signer_ = nullptr;

TEST_F(ImdsClientTest, TokenFlowFetchesWhatTheServerVerifies) {
  emu::Content content = SignedContent();
  auto e = StartEmulator(content);
  ASSERT_TRUE(e);
  auto client = Client(e->endpoint());
  ASSERT_TRUE(client);
  auto payload = client->FetchInstanceIdentity();
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(payload->document, content.document);
  EXPECT_EQ(payload->rsa2048, content.rsa2048);
  EXPECT_EQ(payload->signature, content.signature);
  EXPECT_EQ(e->tokens_issued(), 1);
  EXPECT_EQ(e->unauthorized_requests(), 0);

  // Through JSON, as the agent sends it, into the server-side verifier.
  TempDir certs;
  ASSERT_TRUE(signer_->WriteCertsDir(certs.path(), "us-east-1").ok());
  Config cfg;
  cfg.aws_certificates_path = certs.path();
  cfg.account_ids = {"123456789012"};
  auto v = Verifier::Create(cfg);
  ASSERT_TRUE(v.ok()) << v.status();
  auto wire = AttestationPayload::FromJson(payload->ToJson());
  ASSERT_TRUE(wire.ok());
  auto r = (*v)->Verify(*wire, absl::Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent_path, "/spire/agent/aws_iid/123456789012/us-east-1/i-0123456789abcdef0");
}

TEST_F(ImdsClientTest, GetWithoutValidTokenIs401) {
  auto e = StartEmulator(SignedContent());
  ASSERT_TRUE(e);
  auto client = Client(e->endpoint());
  auto r = client->Get("/latest/dynamic/instance-identity/document", "not-a-token");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr("rejected the session token"));
  EXPECT_THAT(r.status().message(), HasSubstr("HTTP 401"));
  EXPECT_EQ(e->unauthorized_requests(), 1);
  auto token = client->FetchToken();
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(client->Get("/latest/dynamic/instance-identity/document", *token).ok());
  EXPECT_EQ(client->Get("/latest/dynamic/instance-identity/pkcs7", *token).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ImdsClientTest, ImdsV1OnlyIsAClearError) {
  auto e = StartEmulator(SignedContent(), /*v1_only=*/true);
  ASSERT_TRUE(e);
  auto client = Client(e->endpoint());
  auto r = client->FetchInstanceIdentity();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("IMDS at " + e->endpoint() + " does not support IMDSv2 token requests"));
  EXPECT_TRUE(sleeps_.empty()) << "no retries for a definitive answer";
}

TEST_F(ImdsClientTest, UnreachableIsAClearErrorAfterBackoff) {
  // A port nobody listens on: bind, read the port, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto client = Client(endpoint);
  auto r = client->FetchInstanceIdentity();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("IMDS at " + endpoint + " unreachable: "));
  EXPECT_THAT(r.status().message(), HasSubstr("attempt 3 of 3"));
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(250), absl::Milliseconds(500)));
}

TEST_F(ImdsClientTest, EndpointValidation) {
  for (const char* bad : {"169.254.169.254", "ftp://x", "http://", "http://host/path", "http://user@host",
                          "http://host:99999", "http://[fd00:ec2::254"}) {
    ImdsClientOptions o;
    o.endpoint = bad;
    auto c = ImdsClient::Create(o);
    EXPECT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("ec2_metadata_endpoint")) << bad;
  }
  ImdsClientOptions v6;
  v6.endpoint = "http://[fd00:ec2::254]";  // the IMDS's IPv6 address
  EXPECT_TRUE(ImdsClient::Create(v6).ok());
  ImdsClientOptions o;
  o.endpoint = "http://127.0.0.1:1234/";
  auto c = ImdsClient::Create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->options().endpoint, "http://127.0.0.1:1234");
}

TEST_F(ImdsClientTest, ServesRealFilesAsIs) {
  REQUIRE_AWS_VECTORS(dir);
  emu::Content c;
  c.document = testing::ReadFileOrDie(dir + "/iid/us-west-2-2018/document");
  c.rsa2048 = testing::ReadFileOrDie(dir + "/iid/us-west-2-2018/rsa2048");
  c.signature = testing::ReadFileOrDie(dir + "/iid/us-west-2-2018/signature");
  auto e = StartEmulator(c);
  ASSERT_TRUE(e);
  auto payload = Client(e->endpoint())->FetchInstanceIdentity();
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(payload->document, c.document);
  Config cfg;
  cfg.aws_certificates_path = dir + "/certs";
  auto v = Verifier::Create(cfg);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE((*v)->Verify(*payload, absl::Now()).ok());
}

#ifdef IMDS_EMULATOR_BIN
TEST_F(ImdsClientTest, EmulatorBinaryAsSubprocess) {
  TempDir tmp;
  const std::string ready = tmp.path() + "/port";
  const std::string certs = tmp.path() + "/certs";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(IMDS_EMULATOR_BIN, IMDS_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--ready-file", ready.c_str(),
            "--certs-dir", certs.c_str(), "--state-dir", tmp.path().c_str(), "--account-id", "210987654321", "--region",
            "eu-west-3", "--instance-id", "i-0abcdef0123456789", "--instance-type", "c6a.xlarge",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int port = 0;
  for (int i = 0; i < 3000 && port == 0; ++i) {  // up to 30 s (RSA keygen under sanitizers)
    std::ifstream in(ready);
    if (!(in >> port)) {
      port = 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_GT(port, 0) << "imds-emulator did not write --ready-file";
  auto client = Client("http://127.0.0.1:" + std::to_string(port));
  auto payload = client->FetchInstanceIdentity();
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(payload.ok()) << payload.status();

  Config cfg;
  cfg.aws_certificates_path = certs;
  cfg.account_ids = {"210987654321"};
  auto v = Verifier::Create(cfg);
  ASSERT_TRUE(v.ok()) << v.status();
  auto r = (*v)->Verify(*payload, absl::Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->agent_path, "/spire/agent/aws_iid/210987654321/eu-west-3/i-0abcdef0123456789");
  EXPECT_THAT(r->selectors, ::testing::Contains(Selector{"aws_iid", "instance:type:c6a.xlarge"}));
}
#endif

}  // namespace
}  // namespace spirecvm::awsiid
