// Authentication and authorization of an agent on every call after attestation: the peer's
// X509-SVID must chain to the trust bundle, name an agent of this trust domain, belong to an
// attested node that is not banned, and carry the node's current (or just-issued) serial.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "grpcpp/server_context.h"
#include "server/bundle_cache.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// What agent authentication reads. Thread-safe: every member is.
struct AgentAuthDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  BundleCache& bundle;
  Clock& clock;
};

struct AuthenticatedAgent {
  std::string spiffe_id;
  std::string serial;
  datastore::AttestedNode node;
};

// The TLS peer's certificate chain as PEM, leaf first (gRPC reports the leaf and the rest apart). Unauthenticated
// without a TLS peer or a certificate.
absl::StatusOr<std::string> PeerChainPem(const grpc::ServerContext& ctx);

// Chain PEM as gRPC reports it (leaf first).
absl::StatusOr<AuthenticatedAgent> AuthenticateAgentChain(const AgentAuthDeps& deps, const std::string& chain_pem);
absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(const AgentAuthDeps& deps, const grpc::ServerContext& ctx);

}  // namespace spirecvm::server
