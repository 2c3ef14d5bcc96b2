// Node attestation without a wire format: SPIRE's agent.v1.AttestAgent (api/spire_agent/agent_service.h) reads the
// params and carries the challenge rounds; this checks the params, runs the configured attestor and stores the node.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "crypto/csr.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "server/nodeattest/node_attestor.h"
#include "spiffe/spiffe_id.h"

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
  Clock& clock;  // a join token's expiry is checked against it
};

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
// Runs the attestor named by params.type (with any challenge rounds on `channel`), signs the agent SVID for the
// CSR's key and admits the node in one conditional write (DataStore::AdmitAttestedNode), which refuses a banned
// agent and one already attested (unless re-attestable from the same launch). Nothing is stored unless all of that
// succeeds.
absl::StatusOr<AttestedAgent> AttestAndStoreNode(const AttestationDeps& deps, const AttestationParams& params,
                                                 ChallengeChannel& channel);

}  // namespace spirecvm::server
