// The agent's connection to the server, over SPIRE's agent-facing APIs (spire.api.server.{agent,svid,entry,bundle}.v1),
// so the same agent works against spire-cvm's server and a SPIRE server. An interface so the manager's logic is
// tested against a fake server; GrpcServerConnector is the real TLS/mTLS client.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/manager/entry_sync.h"
#include "agent/nodeattest/attest_stream.h"
#include "agent/nodeattest/node_attestor.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/svid/v1/svid.pb.h"
#include "spire/api/types/bundle.pb.h"
#include "spire/api/types/jwtsvid.pb.h"
#include "spire/api/types/x509svid.pb.h"

namespace spirecvm::agent {

namespace svidv1 = ::spire::api::server::svid::v1;
namespace sapi = ::spire::api::types;

// Thread-safety: every method may be called from any thread, concurrently (the manager thread syncs and mints while
// Workload API workers mint JWT-SVIDs).
class ServerClient {
 public:
  virtual ~ServerClient() = default;
  // agent.v1.AttestAgent: params, any number of challenge rounds, result {svid, reattestable}.
  virtual absl::StatusOr<agentv1::AttestAgentResponse::Result> Attest(NodeAttestorClient& attestor,
                                                                      const AttestationKeyInfo& key) = 0;
  // agent.v1.RenewAgent (only for agents that cannot re-attest; SPIRE refuses it to re-attestable ones).
  virtual absl::StatusOr<sapi::X509SVID> RenewAgent(const std::string& csr_der) = 0;
  // svid.v1.BatchNewX509SVID: one result {status, svid} per params, in order.
  virtual absl::StatusOr<svidv1::BatchNewX509SVIDResponse> BatchNewX509Svid(
      const svidv1::BatchNewX509SVIDRequest& req) = 0;
  // svid.v1.NewJWTSVID for an entry the agent is authorized for.
  virtual absl::StatusOr<sapi::JWTSVID> NewJwtSvid(const std::string& entry_id,
                                                   const std::vector<std::string>& audience) = 0;
  // entry.v1.SyncAuthorizedEntries (entry_sync.h): what changed relative to `known`.
  virtual absl::StatusOr<EntrySyncResult> SyncEntries(const std::vector<KnownEntry>& known) = 0;
  // bundle.v1.GetBundle: the server's trust domain bundle.
  virtual absl::StatusOr<sapi::Bundle> GetBundle() = 0;
  // bundle.v1.GetFederatedBundle: the server's stored bundle of another trust domain (name without scheme).
  virtual absl::StatusOr<sapi::Bundle> GetFederatedBundle(const std::string& trust_domain) {
    return absl::UnimplementedError(absl::StrCat("GetFederatedBundle(", trust_domain, ") not implemented"));
  }
};

struct ServerCredentials {
  // Server authentication: chain verified to these roots and SPIFFE ID spiffe://<td>/spire/server.
  std::vector<std::string> roots_der;
  bool insecure = false;  // insecure_bootstrap before the first bundle: no server verification
  // Client authentication (mTLS) once attested; empty during attestation.
  std::vector<std::string> chain_der;
  std::string key_pem;
};

class ServerConnector {
 public:
  virtual ~ServerConnector() = default;
  virtual absl::StatusOr<std::shared_ptr<ServerClient>> Connect(const ServerCredentials& creds) = 0;
};

class GrpcServerConnector final : public ServerConnector {
 public:
  // target: "host:port". Every unary call gets `timeout`.
  GrpcServerConnector(std::string target, spiffe::TrustDomain td, absl::Duration timeout = absl::Seconds(30))
      : target_(std::move(target)), td_(std::move(td)), timeout_(timeout) {}
  absl::StatusOr<std::shared_ptr<ServerClient>> Connect(const ServerCredentials& creds) override;

 private:
  std::string target_;
  spiffe::TrustDomain td_;
  absl::Duration timeout_;
};

}  // namespace spirecvm::agent
