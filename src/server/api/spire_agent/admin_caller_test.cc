// Admin callers over TLS on the agent endpoint: who is an admin (admin_ids, entries with admin = true), who is not
// (a plain agent, a workload without the flag), and the admin methods forwarded over a real mTLS connection.
#include "server/api/spire_agent/admin_caller.h"

#include "cvm/node_facts.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/api/spire/agent_service.h"
#include "server/api/spire/entry_service.h"
#include "server/api/spire_agent/agent_service.h"
#include "server/api/spire_agent/bundle_service.h"
#include "server/api/spire_agent/entry_service.h"
#include "server/api/spire_agent/test_fixture.h"
#include "server/api/svid_signing.h"

namespace spirecvm::server::spireagent {
namespace {

using ::testing::HasSubstr;

class AdminCallerTest : public SpireAgentApiTest {
 protected:
  void SetUp() override {
    SpireAgentApiTest::SetUp();
    if (HasFatalFailure()) return;
    auth_ = std::make_unique<AdminCallerDeps>(
        AdminCallerDeps{.trust_domain = td_, .ds = *ds_, .bundle = *bundle_, .clock = clock_, .admin_ids = admin_ids_});
  }
  // An X509-SVID (chain PEM) for `path` in our trust domain, signed by the CA for key_; its serial in *serial.
  std::string SvidPem(const std::string& path, std::string* serial = nullptr) {
    datastore::RegistrationEntry e;
    e.spiffe_id = "spiffe://example.org" + path;
    auto svid = SignEntryX509Svid(Deps(), e, Csr());
    EXPECT_TRUE(svid.ok()) << svid.status();
    if (!svid.ok()) return "";
    if (serial != nullptr) *serial = svid->serial;
    std::string pem;
    for (const auto& der : svid->chain_der) pem += crypto::CertToPem(crypto::ParseCertDer(der)->get());
    return pem;
  }
  void AddAdminEntry(const std::string& path, bool admin) {
    datastore::RegistrationEntry e;
    e.spiffe_id = "spiffe://example.org" + path;
    e.parent_id = "spiffe://example.org/spire/agent/x";
    e.selectors = {{"unix", "uid:1"}};
    e.admin = admin;
    ASSERT_TRUE(ds_->CreateEntry(e).ok());
  }
  std::vector<std::string> admin_ids_ = {"spiffe://example.org/ops"};
  std::unique_ptr<AdminCallerDeps> auth_;
};

TEST_F(AdminCallerTest, AdminIdCallerIsAdmin) {
  auto id = AuthenticateAdminChain(*auth_, SvidPem("/ops"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "spiffe://example.org/ops");
}

TEST_F(AdminCallerTest, AdminEntryCallerIsAdmin) {
  AddAdminEntry("/admin-workload", true);
  auto id = AuthenticateAdminChain(*auth_, SvidPem("/admin-workload"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "spiffe://example.org/admin-workload");
}

TEST_F(AdminCallerTest, PlainAgentAndOrdinaryWorkloadAreDenied) {
  auto agent = AuthenticateAdminChain(*auth_, SvidPem("/spire/agent/join_token/t1"));
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(agent.status().message(), HasSubstr("is not an admin"));
  AddAdminEntry("/plain", false);
  EXPECT_EQ(AuthenticateAdminChain(*auth_, SvidPem("/plain")).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(AuthenticateAdminChain(*auth_, "").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AuthenticateAdmin(*auth_, nullptr).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AdminCallerTest, ForeignTrustDomainCallerIsVerifiedWithItsBundle) {
  // admin_ids may name another trust domain's workload (as SPIRE); its SVID verifies against that trust domain's
  // stored bundle. other.org's CA is made here.
  admin_ids_.push_back("spiffe://other.org/ops");
  TestOnlyDeterministicRandom rnd(7);
  auto ca_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  ASSERT_TRUE(ca_key.ok());
  spiffe::CaParams cp;
  cp.trust_domain = *spiffe::TrustDomain::Parse("other.org");
  cp.not_before = clock_.Now() - absl::Hours(1);
  cp.not_after = clock_.Now() + absl::Hours(24);
  auto ca = spiffe::SelfSignCa(ca_key->get(), cp, rnd);
  ASSERT_TRUE(ca.ok()) << ca.status();
  spiffe::X509SvidParams lp;
  lp.id = *spiffe::SpiffeId::Parse("spiffe://other.org/ops");
  lp.public_key = key_.get();
  lp.not_before = cp.not_before;
  lp.not_after = clock_.Now() + absl::Hours(1);
  auto leaf = spiffe::SignX509Svid({ca->get(), ca_key->get()}, lp, rnd);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  const std::string foreign = crypto::CertToPem(leaf->get());

  auto none = AuthenticateAdminChain(*auth_, foreign);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(none.status().message(), HasSubstr("no bundle for trust domain other.org"));
  // other.org's bundle holding another CA (ours): the chain does not verify.
  datastore::BundleRecord fed;
  fed.trust_domain = "other.org";
  fed.x509_authorities_der = ds_->FetchBundle("example.org")->x509_authorities_der;
  ASSERT_TRUE(ds_->CreateBundle(fed).ok());
  EXPECT_EQ(AuthenticateAdminChain(*auth_, foreign).status().code(), absl::StatusCode::kUnauthenticated);
  // With other.org's real CA stored: an admin.
  fed.x509_authorities_der = {crypto::CertToDer(ca->get())};
  ASSERT_TRUE(ds_->SetBundle(fed).ok());
  auto id = AuthenticateAdminChain(*auth_, foreign);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "spiffe://other.org/ops");
}

// The whole path over mTLS: the agent endpoint's Entry service forwards ListEntries for admins only.
class AdminOverTlsTest : public AdminCallerTest {
 protected:
  void SetUp() override {
    AdminCallerTest::SetUp();
    if (HasFatalFailure()) return;
    admin_svc_ = std::make_unique<spireapi::EntryService>(
        spireapi::EntryServiceDeps{.trust_domain = td_, .ds = *ds_, .entries = *entries_});
    admin_agents_ = std::make_unique<spireapi::AgentService>(spireapi::AgentServiceDeps{
        .trust_domain = td_, .ds = *ds_, .entries = *entries_, .clock = clock_, .rnd = rnd_});
    AgentApiDeps deps = Deps();
    deps.blocking = &pool_;  // as the server: admin methods on the blocking pool
    agent_svc_ =
        std::make_unique<EntryService>(deps, AdminDelegate<spireapi::EntryService>{auth_.get(), admin_svc_.get()});
    agent_agents_ =
        std::make_unique<AgentService>(deps, AdminDelegate<spireapi::AgentService>{auth_.get(), admin_agents_.get()});
    bundle_svc_ = std::make_unique<BundleService>(deps);
    key_pem_ = *crypto::PrivateKeyToPem(key_.get());
    std::vector<grpc::experimental::IdentityKeyCertPair> server_id = {{key_pem_, SvidPem("/spire/server")}};
    grpc::experimental::TlsServerCredentialsOptions tls(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(server_id));
    tls.watch_identity_key_cert_pairs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::experimental::TlsServerCredentials(tls), &port_);
    b.RegisterService(agent_svc_.get());
    b.RegisterService(agent_agents_.get());
    b.RegisterService(bundle_svc_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& chain_pem) {
    grpc::experimental::TlsChannelCredentialsOptions opts;
    std::vector<grpc::experimental::IdentityKeyCertPair> id = {{key_pem_, chain_pem}};
    opts.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(id));
    opts.watch_identity_key_cert_pairs();
    opts.set_check_call_host(false);
    opts.set_verify_server_certs(false);
    opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::experimental::TlsCredentials(opts), args);
  }
  grpc::Status ListAs(const std::string& path) {
    auto stub = entryv1::Entry::NewStub(ChannelAs(SvidPem(path)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    entryv1::ListEntriesRequest req;
    entryv1::ListEntriesResponse resp;
    auto st = stub->ListEntries(&ctx, req, &resp);
    if (st.ok()) listed_ = resp.entries_size();
    return st;
  }
  WorkerPool pool_{2};
  std::unique_ptr<spireapi::EntryService> admin_svc_;
  std::unique_ptr<spireapi::AgentService> admin_agents_;
  std::unique_ptr<EntryService> agent_svc_;
  std::unique_ptr<AgentService> agent_agents_;
  std::unique_ptr<BundleService> bundle_svc_;
  std::unique_ptr<grpc::Server> server_;
  std::string key_pem_;
  int port_ = 0;
  int listed_ = -1;
};

TEST_F(AdminOverTlsTest, AdminsMayCallAdminMethodsOthersMayNot) {
  AddAdminEntry("/admin-workload", true);
  auto st = ListAs("/ops");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(listed_, 1);
  EXPECT_TRUE(ListAs("/admin-workload").ok());
  st = ListAs("/spire/agent/join_token/t1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("ListEntries is an admin method"));
  EXPECT_THAT(st.error_message(), HasSubstr("is not an admin"));
}

// GetAgent forwarded for an admin over TLS (on the blocking pool, through the callback API): the node, and its facts
// in the trailing metadata as on the admin socket.
TEST_F(AdminOverTlsTest, AdminGetAgentCarriesTheNodeFacts) {
  datastore::AttestedNode node;
  node.spiffe_id = "spiffe://example.org/spire/agent/aws_iid/i-1";
  node.attestation_type = "aws_iid";
  node.cert_serial = "1";
  node.cert_not_after = 1'900'000'000;
  node.facts = std::string("\x30\x03\x02\x01\x07", 5);
  ASSERT_TRUE(ds_->CreateAttestedNode(node).ok());
  agentv1::GetAgentRequest req;
  req.mutable_id()->set_trust_domain("example.org");
  req.mutable_id()->set_path("/spire/agent/aws_iid/i-1");
  for (const std::string caller : {"/ops", "/w"}) {
    auto stub = agentv1::Agent::NewStub(ChannelAs(SvidPem(caller)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    sapi::Agent got;
    auto st = stub->GetAgent(&ctx, req, &got);
    if (caller == "/w") {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
      continue;
    }
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(got.attestation_type(), "aws_iid");
    auto facts = ctx.GetServerTrailingMetadata().find(std::string(cvm::kNodeFactsMetadataKey));
    ASSERT_NE(facts, ctx.GetServerTrailingMetadata().end()) << "no node facts in the trailing metadata";
    EXPECT_EQ(std::string(facts->second.data(), facts->second.size()), node.facts);
  }
}

// An attested agent reads a stored federated bundle on the agent endpoint (SPIRE: any active agent may); a
// workload that is no agent may not.
TEST_F(AdminOverTlsTest, AgentReadsAFederatedBundle) {
  datastore::BundleRecord fed;
  fed.trust_domain = "other.org";
  fed.x509_authorities_der = ds_->FetchBundle("example.org")->x509_authorities_der;
  ASSERT_TRUE(ds_->CreateBundle(fed).ok());
  std::string serial;
  const std::string agent_pem = SvidPem("/spire/agent/join_token/t1", &serial);
  datastore::AttestedNode node;
  node.spiffe_id = "spiffe://example.org/spire/agent/join_token/t1";
  node.attestation_type = "join_token";
  node.cert_serial = serial;
  node.cert_not_after = 1'900'000'000;
  ASSERT_TRUE(ds_->CreateAttestedNode(node).ok());
  bundlev1::GetFederatedBundleRequest req;
  req.set_trust_domain("other.org");
  const std::vector<std::pair<std::string, grpc::StatusCode>> callers = {
      {agent_pem, grpc::StatusCode::OK}, {SvidPem("/w"), grpc::StatusCode::PERMISSION_DENIED}};
  for (const auto& [pem, want] : callers) {
    auto stub = bundlev1::Bundle::NewStub(ChannelAs(pem));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    sapi::Bundle got;
    auto st = stub->GetFederatedBundle(&ctx, req, &got);
    EXPECT_EQ(st.error_code(), want) << st.error_message();
    if (st.ok()) {
      EXPECT_EQ(got.trust_domain(), "other.org");
      EXPECT_EQ(got.x509_authorities_size(), static_cast<int>(fed.x509_authorities_der.size()));
    }
  }
}

TEST_F(AdminCallerTest, WithoutADelegateAdminMethodsAreDenied) {
  EntryService svc(Deps());
  entryv1::ListEntriesRequest req;
  entryv1::ListEntriesResponse resp;
  auto st = CallUnary([&](auto* ctx) { return svc.ListEntries(ctx, &req, &resp); });
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("not enabled"));
}

}  // namespace
}  // namespace spirecvm::server::spireagent
