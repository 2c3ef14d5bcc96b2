// The agent-facing API (spirecvm.agent.v1.Node) over TLS.
#pragma once

#include "agent.grpc.pb.h"
#include "server/server_context.h"

namespace spirecvm::server {

class NodeService final : public agent::v1::Node::Service {
 public:
  explicit NodeService(ServerContext& sc) : sc_(sc) {}

  grpc::Status AttestAgent(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<agent::v1::AttestAgentResponse, agent::v1::AttestAgentRequest>* stream) override;
  grpc::Status RenewAgent(grpc::ServerContext* ctx, const agent::v1::RenewAgentRequest* req,
                          agent::v1::RenewAgentResponse* resp) override;
  grpc::Status BatchNewX509SVID(grpc::ServerContext* ctx, const agent::v1::BatchNewX509SVIDRequest* req,
                                agent::v1::BatchNewX509SVIDResponse* resp) override;
  grpc::Status NewJWTSVID(grpc::ServerContext* ctx, const agent::v1::NewJWTSVIDRequest* req,
                          agent::v1::NewJWTSVIDResponse* resp) override;
  grpc::Status SyncAuthorizedEntries(grpc::ServerContext* ctx, const agent::v1::SyncAuthorizedEntriesRequest* req,
                                     agent::v1::SyncAuthorizedEntriesResponse* resp) override;
  grpc::Status GetBundle(grpc::ServerContext* ctx, const agent::v1::GetBundleRequest* req,
                         types::Bundle* resp) override;

 private:
  ServerContext& sc_;
};

// The attestation flow without gRPC: used by the service and by tests.
class AttestStream {
 public:
  virtual ~AttestStream() = default;
  virtual bool Read(agent::v1::AttestAgentRequest* req) = 0;
  virtual bool Write(const agent::v1::AttestAgentResponse& resp) = 0;
};
absl::Status RunAttestation(ServerContext& sc, AttestStream& stream);

}  // namespace spirecvm::server
