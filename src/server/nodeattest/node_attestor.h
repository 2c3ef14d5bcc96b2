// Server-side node attestation plug-in interface. An attestor checks the agent's evidence, may run
// any number of challenge/response rounds on the attestation stream, and yields the agent's SPIFFE ID
// and node selectors. Errors use InvalidArgument for malformed evidence and PermissionDenied for
// evidence that is well-formed but not acceptable (replay, policy, untrusted signer).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// The attestor's view of the stream: send a challenge, wait for the agent's answer.
class ChallengeChannel {
 public:
  virtual ~ChallengeChannel() = default;
  virtual absl::StatusOr<std::string> Challenge(std::string_view challenge) = 0;
};

struct AttestationRequest {
  std::string payload;       // attestation data from the agent
  std::string csr_spki_der;  // SubjectPublicKeyInfo of the agent's CSR (verified), for key binding
};

struct AttestationResult {
  spiffe::SpiffeId agent_id;
  std::vector<datastore::Selector> selectors;
  // Whether an instance that already attested may attest again without being evicted first.
  bool can_reattest = false;
  // The run of the node the evidence comes from (SEV-SNP: REPORT_ID, hex), empty if the evidence names none. The
  // node service admits a re-attestation only from the launch the node was admitted with
  // (DataStore::AdmitAttestedNode); the attestor never reads the stored node itself.
  std::string launch_id;
  // The node facts of the evidence (src/cvm/node_facts.h, DER), which the node's SVIDs carry; empty when the
  // attestor derives none (join_token, aws_iid without a report).
  std::string facts{};
  // join_token only: the token, which the node service spends in the transaction that admits the node
  // (DataStore::AdmitAttestedNodeWithJoinToken), so that a token is spent only by the node it admits; empty otherwise.
  std::string join_token{};
};

// Thread-safety: Attest is called concurrently from the gRPC threads serving AttestAgent streams, so it
// is const: an attestor keeps no per-call state in members, and what it shares (the DataStore, the
// injected Clock and Random, its verifiers) is itself thread-safe. State that must be single-use across
// calls (join tokens) lives in the DataStore, whose consume operations are atomic; a challenge nonce lives in the
// call that sent it.
// An attestor never stores the attested node: the node service does, and only on success.
class NodeAttestor {
 public:
  virtual ~NodeAttestor() = default;
  virtual std::string_view Name() const = 0;
  virtual absl::StatusOr<AttestationResult> Attest(const AttestationRequest& req, ChallengeChannel& channel) const = 0;
  // How long a node this attestor admitted with launch-bound evidence (a non-empty launch_id) may renew its agent
  // SVID (RenewAgent) after that evidence, before it must bring fresh evidence; nullopt: no limit.
  virtual std::optional<absl::Duration> MaxEvidenceAge() const { return std::nullopt; }
  // Whether a workload SVID for `workload_id`, minted for a node this attestor admitted with facts, carries them too
  // (the agent's own SVID always does). Off unless configured (aws_iid: sev_snp.svid_evidence).
  virtual bool FactsInWorkloadSvids(std::string_view /*workload_id*/) const { return false; }
};

}  // namespace spirecvm::server
