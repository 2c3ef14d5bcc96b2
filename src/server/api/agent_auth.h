// Authentication and authorization of an agent on every call after attestation: the peer's
// X509-SVID must chain to the trust bundle, name an agent of this trust domain, belong to an
// attested node that is not banned, and carry the node's current (or just-issued) serial.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/datastore/datastore.h"
#include "server/server_context.h"

namespace spirecvm::server {

struct AuthenticatedAgent {
  std::string spiffe_id;
  std::string serial;
  datastore::AttestedNode node;
};

// Chain PEM as gRPC reports it (leaf first).
absl::StatusOr<AuthenticatedAgent> AuthenticateAgentChain(ServerContext& sc, const std::string& chain_pem);
absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(ServerContext& sc, const grpc::ServerContext& ctx);

}  // namespace spirecvm::server
