// The agent's connection to spire-server (service spirecvm.agent.v1.Node). An interface so the manager's logic
// is tested against a fake server; GrpcServerConnector is the real TLS/mTLS client.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent.grpc.pb.h"
#include "agent/nodeattest/node_attestor.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::agent {

namespace v1 = spirecvm::agent::v1;

class ServerClient {
 public:
  virtual ~ServerClient() = default;
  virtual absl::StatusOr<v1::AttestAgentResponse::Result> Attest(NodeAttestorClient& attestor,
                                                                 const AttestationKeyInfo& key) = 0;
  virtual absl::StatusOr<spirecvm::types::X509SVID> RenewAgent(const std::string& csr_der) = 0;
  virtual absl::StatusOr<v1::BatchNewX509SVIDResponse> BatchNewX509Svid(const v1::BatchNewX509SVIDRequest& req) = 0;
  virtual absl::StatusOr<spirecvm::types::JWTSVID> NewJwtSvid(const std::string& entry_id,
                                                              const std::vector<std::string>& audience) = 0;
  virtual absl::StatusOr<v1::SyncAuthorizedEntriesResponse> Sync(const v1::SyncAuthorizedEntriesRequest& req) = 0;
  virtual absl::StatusOr<spirecvm::types::Bundle> GetBundle() = 0;
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
