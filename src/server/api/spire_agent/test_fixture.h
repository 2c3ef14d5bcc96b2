// Test-only: what SPIRE's agent APIs are built from (in-memory SQLite DataStore, a CA with a memory KeyManager,
// entry and bundle caches, the join_token attestor and a scripted one with challenge rounds), as AgentApiDeps.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "grpcpp/test/default_reactor_test_peer.h"
#include "gtest/gtest.h"
#include "server/api/agent_api_deps.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/keymanager/key_manager.h"
#include "server/nodeattest/join_token_attestor.h"
#include "server/testing/scripted_attestor.h"
#include "server/testing/server_parts_test_base.h"
#include "spiffe/x509_svid.h"
#include "spire/api/types/x509svid.pb.h"

namespace spirecvm::server::spireagent {

using server::testing::ScriptedAttestor;

// Calls a unary method of a callback-API service, call(ctx), without a transport (no TLS peer) and returns the
// status the call finished with, waiting for a body queued on a pool or behind a rate-limit alarm.
// WaitFinished: gRPC's test reactor marks the status set only after its finish callback returns, from the thread
// that finished the call; so the context may be destroyed only once test_status_set() is true (waiting on the
// callback instead freed the context under that last write: an ASan use-after-free).
inline grpc::Status WaitFinished(const grpc::testing::DefaultReactorTestPeer& peer) {
  while (!peer.test_status_set()) std::this_thread::yield();
  return peer.test_status();
}
template <typename Call>
grpc::Status CallUnary(Call call) {
  grpc::CallbackServerContext ctx;
  grpc::testing::DefaultReactorTestPeer peer(&ctx);
  call(&ctx);
  return WaitFinished(peer);
}

class SpireAgentApiTest : public server::testing::ServerPartsTest {
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

  AgentApiDeps Deps() {
    return {.trust_domain = td_,
            .ds = *ds_,
            .ca = *ca_,
            .entries = *entries_,
            .bundle = *bundle_,
            .attestors = attestors_,
            .clock = clock_,
            .metrics = metrics_,
            .ttls = {}};
  }
  std::string Csr() { return *crypto::CreateCsr(key_.get(), std::nullopt); }

  // The SPIFFE ID the chain proves against the CA's authorities; fails the test when it does not verify.
  std::string VerifiedId(const ::spire::api::types::X509SVID& svid) {
    std::vector<ssl::X509Ptr> certs;
    for (const auto& d : svid.cert_chain()) certs.push_back(std::move(*crypto::ParseCertDer(d)));
    auto roots_owned = ca_->X509Authorities();
    std::vector<const X509*> chain, roots;
    for (auto& c : certs) chain.push_back(c.get());
    for (auto& r : roots_owned) roots.push_back(r.get());
    auto id = spiffe::VerifyX509Svid(chain, roots, clock_.Now());
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? id->ToString() : "";
  }

  datastore::RegistrationEntry AddEntry(const std::string& path, const std::string& parent) {
    datastore::RegistrationEntry e;
    e.spiffe_id = "spiffe://example.org" + path;
    e.parent_id = parent;
    e.selectors = {{"unix", "uid:1000"}};
    auto made = ds_->CreateEntry(e);
    EXPECT_TRUE(made.ok()) << made.status();
    EXPECT_TRUE(entries_->Refresh().ok());
    return *made;
  }

  // An X509-SVID for `path` from our CA, as the PEM chain a caller presents on the TLS connection.
  std::string CallerChain(const std::string& path) {
    auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    auto svid = ca_->SignX509Svid(*crypto::PublicKeyToDer(key->get()),
                                  *spiffe::SpiffeId::Parse("spiffe://example.org" + path), absl::Minutes(30), {});
    EXPECT_TRUE(svid.ok()) << svid.status();
    std::string pem;
    for (const auto& d : svid->chain_der) pem += crypto::CertToPem(crypto::ParseCertDer(d)->get());
    return pem;
  }
  // A workload entry for `path` (downstream or not), as a nested server's would be registered.
  void AddWorkload(const std::string& path, bool downstream) {
    datastore::RegistrationEntry e;
    e.spiffe_id = "spiffe://example.org" + path;
    e.parent_id = "spiffe://example.org/spire/agent/x/1";
    e.selectors = {{"unix", "uid:1000"}};
    e.downstream = downstream;
    ASSERT_TRUE(ds_->CreateEntry(e).ok());
  }

  NodeAttestors attestors_;
  ScriptedAttestor* scripted_ = nullptr;
  ssl::EvpPkeyPtr key_;
};

}  // namespace spirecvm::server::spireagent
