// The SVIDs the agent-facing APIs sign, without a wire format: each checks its input and says what it refuses and
// why. SPIRE's agent.v1.RenewAgent and svid.v1.BatchNewX509SVID / NewJWTSVID (api/spire_agent) call these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/api/agent_api_deps.h"

namespace spirecvm::server {

// A new agent SVID for an authenticated agent; the node keeps it as its next serial until the agent uses it. Refused
// when the node's launch-bound evidence is older than its attestor's MaxEvidenceAge, or when its serials changed
// since authentication read them (compare-and-swap).
absl::StatusOr<SignedX509Svid> RenewAgentSvid(const AgentApiDeps& deps, const AuthenticatedAgent& a,
                                              std::string_view csr_der);
// A workload X509-SVID for entry `e` and the CSR's key: the entry's TTL (else the default) and DNS names. `node`:
// the attested node of the agent asking (null: none); the SVID carries that node's facts, as stored at its last
// accepted attestation, when its attestor enables it for e's SPIFFE ID (NodeAttestor::FactsInWorkloadSvids).
absl::StatusOr<SignedX509Svid> SignEntryX509Svid(const AgentApiDeps& deps, const datastore::EntryBody& e,
                                                 std::string_view csr_der,
                                                 const datastore::AttestedNode* node = nullptr);
// A JWT-SVID for entry `e`: at least one audience; the entry's JWT TTL, else the default. With `node`, the `cvm`
// claim carries its facts under the same rule as SignEntryX509Svid.
absl::StatusOr<SignedJwtSvid> SignEntryJwtSvid(const AgentApiDeps& deps, const datastore::EntryBody& e,
                                               const std::vector<std::string>& audience,
                                               const datastore::AttestedNode* node = nullptr);

}  // namespace spirecvm::server
