// The agent-facing API (spirecvm.agent.v1.Node) over TLS.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent.grpc.pb.h"
#include "crypto/csr.h"
#include "server/api/agent_auth.h"
#include "server/api/limits.h"
#include "server/api/svid_ttls.h"
#include "server/bundle_cache.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/metrics.h"
#include "server/nodeattest/node_attestor.h"

namespace spirecvm::server {

// The configured node attestors by name (the attestation data type agents send).
using NodeAttestors = std::map<std::string, std::unique_ptr<NodeAttestor>, std::less<>>;

// What attesting an agent touches: the attestors, the CA that signs the agent's SVID and the
// DataStore where the attested node is stored (only when attestation succeeds).
struct AttestationDeps {
  const NodeAttestors& attestors;
  datastore::DataStore& ds;
  CaManager& ca;
  absl::Duration agent_ttl;
};

// What the Node service uses. Every member is thread-safe: gRPC calls it from its pool concurrently.
struct NodeServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  CaManager& ca;
  EntryCache& entries;
  BundleCache& bundle;
  const NodeAttestors& attestors;
  Clock& clock;
  Metrics& metrics;
  SvidTtls ttls;

  AgentAuthDeps Auth() const { return {trust_domain, ds, bundle, clock}; }
  AttestationDeps Attestation() const { return {attestors, ds, ca, ttls.agent}; }
};

// The agent API's operations without a wire format: the Node service and SPIRE's agent API (api/spire_agent) both
// call these, so both check and sign alike. Each checks its input and says what it refuses and why.

struct AttestationParams {
  std::string type;     // the NodeAttestor's name
  std::string payload;  // its evidence
  crypto::ParsedCsr csr;
};
// A type is present, the payload within kMaxAttestationPayload, the CSR present, small and self-signed.
absl::StatusOr<AttestationParams> CheckAttestationParams(std::string type, std::string payload,
                                                         std::string_view csr_der);

struct AttestedAgent {
  spiffe::SpiffeId id;
  SignedX509Svid svid;
  bool can_reattest = false;
};
// Runs the attestor named by params.type (with any challenge rounds on `channel`), refuses a banned agent and one
// already attested (unless re-attestable), signs the agent SVID for the CSR's key and stores the node.
absl::StatusOr<AttestedAgent> AttestAndStoreNode(const AttestationDeps& deps, const AttestationParams& params,
                                                 ChallengeChannel& channel);

// A new agent SVID for an authenticated agent; the node keeps it as its next serial until the agent uses it.
absl::StatusOr<SignedX509Svid> RenewAgentSvid(const NodeServiceDeps& deps, const AuthenticatedAgent& a,
                                              std::string_view csr_der);
// A workload X509-SVID for entry `e` and the CSR's key: the entry's TTL (else the default) and DNS names.
absl::StatusOr<SignedX509Svid> SignEntryX509Svid(const NodeServiceDeps& deps, const datastore::RegistrationEntry& e,
                                                 std::string_view csr_der);
// A JWT-SVID for entry `e`: at least one audience; the entry's JWT TTL, else the default.
absl::StatusOr<SignedJwtSvid> SignEntryJwtSvid(const NodeServiceDeps& deps, const datastore::RegistrationEntry& e,
                                               const std::vector<std::string>& audience);

class NodeService final : public agent::v1::Node::Service {
 public:
  explicit NodeService(NodeServiceDeps deps) : deps_(deps) {}

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
  absl::StatusOr<AuthenticatedAgent> Authenticate(const grpc::ServerContext& ctx);

  NodeServiceDeps deps_;
};

// The attestation flow without gRPC: used by the service and by tests.
class AttestStream {
 public:
  virtual ~AttestStream() = default;
  virtual bool Read(agent::v1::AttestAgentRequest* req) = 0;
  virtual bool Write(const agent::v1::AttestAgentResponse& resp) = 0;
};
// Runs one attestation. The node is stored only when the attestor accepts the evidence and the
// agent is neither banned nor (unless re-attestable) already attested; otherwise no node is stored.
absl::Status RunAttestation(const AttestationDeps& deps, AttestStream& stream);

}  // namespace spirecvm::server
