// GrpcServerConnector against an in-process TLS server: the server is authenticated SPIFFE-style (chain to the
// bundle, ID spiffe://<td>/spire/server, no hostname), the agent SVID is presented for mTLS, insecure bootstrap
// skips verification.
#include "agent/manager/server_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "agent/testing/test_ca.h"
#include "crypto/keys.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"

namespace spirecvm::agent {
namespace {

using testing::TestCa;

namespace bundlev1 = ::spire::api::server::bundle::v1;

class FakeBundle final : public bundlev1::Bundle::Service {
 public:
  grpc::Status GetBundle(grpc::ServerContext* ctx, const bundlev1::GetBundleRequest*, sapi::Bundle* resp) override {
    auto auth = ctx->auth_context();
    auto leaf = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    std::lock_guard<std::mutex> l(mu);
    peer_leaf = leaf.empty() ? "" : std::string(leaf.front().data(), leaf.front().size());
    resp->set_trust_domain("example.org");
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::string peer_leaf;
};

struct Svid {
  ssl::EvpPkeyPtr key;
  std::string der;
  std::string pem() const { return crypto::CertToPem(crypto::ParseCertDer(der)->get()); }
  std::string key_pem() const { return *crypto::PrivateKeyToPem(key.get()); }
};

Svid MakeSvid(const TestCa& ca, const std::string& id) {
  Svid s;
  s.key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  s.der = ca.Sign(id, s.key.get(), absl::Now() - absl::Minutes(1), absl::Now() + absl::Hours(1));
  return s;
}

class ServerClientTest : public ::testing::Test {
 protected:
  void StartServer(const Svid& server_svid) {
    grpc::SslServerCredentialsOptions o(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    o.pem_key_cert_pairs.push_back({server_svid.key_pem(), server_svid.pem()});
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(o), &port_);
    b.RegisterService(&node_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  absl::Status Call(const ServerCredentials& creds) {
    GrpcServerConnector c("127.0.0.1:" + std::to_string(port_), ca_.td, absl::Seconds(5));
    auto client = c.Connect(creds);
    if (!client.ok()) return client.status();
    return (*client)->GetBundle().status();
  }

  TestCa ca_ = TestCa::Make(absl::Now());
  FakeBundle node_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ServerClientTest, VerifiesServerIdAndPresentsAgentSvid) {
  StartServer(MakeSvid(ca_, "spiffe://example.org/spire/server"));
  ServerCredentials creds;
  creds.roots_der = {crypto::CertToDer(ca_.cert.get())};
  EXPECT_TRUE(Call(creds).ok());
  Svid agent = MakeSvid(ca_, "spiffe://example.org/spire/agent/join_token/t");
  creds.chain_der = {agent.der};
  creds.key_pem = agent.key_pem();
  ASSERT_TRUE(Call(creds).ok());
  std::lock_guard<std::mutex> l(node_.mu);
  EXPECT_EQ(node_.peer_leaf, agent.pem());
}

TEST_F(ServerClientTest, RejectsWrongServerId) {
  StartServer(MakeSvid(ca_, "spiffe://example.org/not-the-server"));
  ServerCredentials creds;
  creds.roots_der = {crypto::CertToDer(ca_.cert.get())};
  EXPECT_FALSE(Call(creds).ok());
}

TEST_F(ServerClientTest, RejectsServerFromAnotherCa) {
  TestCa other = TestCa::Make(absl::Now());
  StartServer(MakeSvid(other, "spiffe://example.org/spire/server"));
  ServerCredentials creds;
  creds.roots_der = {crypto::CertToDer(ca_.cert.get())};
  EXPECT_FALSE(Call(creds).ok());
  // insecure_bootstrap: the first connection does not verify.
  ServerCredentials insecure;
  insecure.insecure = true;
  EXPECT_TRUE(Call(insecure).ok());
}

TEST_F(ServerClientTest, NoBundleNoConnection) {
  StartServer(MakeSvid(ca_, "spiffe://example.org/spire/server"));
  EXPECT_TRUE(absl::IsFailedPrecondition(Call(ServerCredentials{})));
}

}  // namespace
}  // namespace spirecvm::agent
