// Authentication and authorization of an agent on every call after attestation: the peer's
// X509-SVID must chain to the trust bundle, name an agent of this trust domain, belong to an
// attested node that is not banned, and carry the node's current (or just-issued) serial.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "grpcpp/server_context.h"
#include "server/bundle_cache.h"
#include "server/datastore/datastore.h"
#include "server/node_cache.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// What agent authentication reads. Thread-safe: every member is.
struct AgentAuthDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  BundleCache& bundle;
  Clock& clock;
  NodeCache* nodes = nullptr;  // max_attested_node_info_staleness; null: every call reads the datastore
};

struct AuthenticatedAgent {
  std::string spiffe_id;
  std::string serial;
  datastore::AttestedNode node;
};

// The peer's certificate chain on the TLS connection, as PEM (leaf first); Unauthenticated when there is none.
// Built by LeafFirstChainPem from gRPC's leaf and chain properties.
absl::StatusOr<std::string> PeerChainPem(const grpc::ServerContextBase& ctx);
// `leaf_pem` followed by the certificate blocks of `chain_pem` other than the leaf (gRPC's server-side chain
// property may or may not repeat it), each block on its own lines. Text only: nothing is parsed or verified.
std::string LeafFirstChainPem(std::string_view leaf_pem, std::string_view chain_pem);
// The SPIFFE ID an X509-SVID chain (PEM, leaf first) proves against the current trust bundle: any identity of
// the bundle's trust domain (agent or workload). Unauthenticated when it does not verify.
absl::StatusOr<spiffe::SpiffeId> VerifyCallerSvid(const AgentAuthDeps& deps, const std::string& chain_pem);

// Chain PEM as gRPC reports it (leaf first).
absl::StatusOr<AuthenticatedAgent> AuthenticateAgentChain(const AgentAuthDeps& deps, const std::string& chain_pem);
absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(const AgentAuthDeps& deps, const grpc::ServerContextBase& ctx);

}  // namespace spirecvm::server
