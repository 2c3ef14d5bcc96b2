#include "server/api/node_attestation.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "server/api/limits.h"
#include "server/api/node_facts_ext.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {

absl::StatusOr<AttestationParams> CheckAttestationParams(std::string type, std::string payload,
                                                         std::string_view csr_der) {
  if (type.empty()) return absl::InvalidArgumentError("attestation data type is missing");
  if (payload.size() > kMaxAttestationPayload) {
    return absl::InvalidArgumentError(absl::StrCat("attestation payload is ", payload.size(),
                                                   " bytes, more than the limit of ", kMaxAttestationPayload));
  }
  if (csr_der.empty()) return absl::InvalidArgumentError("the agent CSR is missing");
  if (csr_der.size() > kMaxCsr) return absl::InvalidArgumentError("the agent CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(csr_der);
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("agent CSR rejected: ", csr.status().message()));
  return AttestationParams{std::move(type), std::move(payload), *std::move(csr)};
}

namespace {
absl::Status Admit(const AttestationDeps& deps, const datastore::AttestedNode& node, const std::string& join_token) {
  if (join_token.empty()) return deps.ds.AdmitAttestedNode(node);
  return deps.ds.AdmitAttestedNodeWithJoinToken(node, join_token, absl::ToUnixSeconds(deps.clock.Now()));
}
}  // namespace

absl::StatusOr<AttestedAgent> AttestAndStoreNode(const AttestationDeps& deps, const AttestationParams& params,
                                                 ChallengeChannel& channel) {
  auto it = deps.attestors.find(params.type);
  if (it == deps.attestors.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no NodeAttestor \"", params.type, "\" is configured on this server"));
  }
  auto result = it->second->Attest({params.payload, params.csr.spki_der}, channel);
  if (!result.ok()) return result.status();  // logged once by the caller, with the reason
  const std::string agent_id = result->agent_id.ToString();
  // The SVID is signed first and handed out only if the conditional write below admits the node.
  // The agent's own SVID always carries the facts of the evidence it was just admitted with.
  ASSIGN_OR_RETURN(SignedX509Svid svid, deps.ca.SignX509Svid(params.csr.spki_der, result->agent_id, deps.agent_ttl, {},
                                                             FactsExtensions(result->facts)));
  datastore::AttestedNode node;
  node.spiffe_id = agent_id;
  node.attestation_type = params.type;
  node.cert_serial = svid.serial;
  node.cert_not_after = absl::ToUnixSeconds(svid.not_after);
  node.can_reattest = result->can_reattest;
  node.selectors = result->selectors;
  node.launch_id = result->launch_id;
  node.facts = result->facts;
  // The facts name their attestation time; the node's evidence time is the same instant.
  if (auto f = cvm::DecodeNodeFacts(node.facts); f.ok()) node.evidence_at = absl::ToUnixSeconds(f->attested_at);
  // One conditional write (docs/security.md, finding 2): inserted if absent, else replaced only when not banned and
  // from the same launch of a re-attestable node. Nothing else decides, so two servers cannot both admit. A join
  // token is spent in the same transaction.
  if (auto st = Admit(deps, node, result->join_token); !st.ok()) {
    if (absl::IsNotFound(st) && !result->join_token.empty()) {
      return absl::PermissionDeniedError("join_token: token does not exist or has already been used");
    }
    if (absl::IsFailedPrecondition(st)) return absl::PermissionDeniedError(st.message());
    return st;
  }
  spdlog::info("agent attested: {} ({}; {} selectors)", agent_id, params.type, node.selectors.size());
  return AttestedAgent{result->agent_id, std::move(svid), result->can_reattest};
}

}  // namespace spirecvm::server
