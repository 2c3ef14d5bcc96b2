#include "server/api/node_attestation.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "server/api/limits.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

// Refuses a banned agent, and one that attested before unless the attestor allows re-attestation.
absl::Status CheckMayAttest(datastore::DataStore& ds, const std::string& agent_id, bool can_reattest) {
  auto existing = ds.FetchAttestedNode(agent_id);
  if (absl::IsNotFound(existing.status())) return absl::OkStatus();
  if (!existing.ok()) return existing.status();
  if (existing->banned) return absl::PermissionDeniedError(absl::StrCat("agent ", agent_id, " is banned"));
  if (!can_reattest) {
    return absl::PermissionDeniedError(
        absl::StrCat("agent ", agent_id, " has already attested; evict it (spire-server agent evict) to attest again"));
  }
  return absl::OkStatus();
}

}  // namespace

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

absl::StatusOr<AttestedAgent> AttestAndStoreNode(const AttestationDeps& deps, const AttestationParams& params,
                                                 ChallengeChannel& channel) {
  auto it = deps.attestors.find(params.type);
  if (it == deps.attestors.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no NodeAttestor \"", params.type, "\" is configured on this server"));
  }
  auto result = it->second->Attest({params.payload, params.csr.spki_der}, channel);
  if (!result.ok()) {
    spdlog::warn("node attestation ({}) failed: {}", params.type, result.status().ToString());
    return result.status();
  }
  const std::string agent_id = result->agent_id.ToString();
  RETURN_IF_ERROR(CheckMayAttest(deps.ds, agent_id, result->can_reattest));
  ASSIGN_OR_RETURN(SignedX509Svid svid,
                   deps.ca.SignX509Svid(params.csr.public_key.get(), result->agent_id, deps.agent_ttl, {}));
  datastore::AttestedNode node;
  node.spiffe_id = agent_id;
  node.attestation_type = params.type;
  node.cert_serial = svid.serial;
  node.cert_not_after = absl::ToUnixSeconds(svid.not_after);
  node.can_reattest = result->can_reattest;
  node.selectors = result->selectors;
  RETURN_IF_ERROR(deps.ds.UpsertAttestedNode(node));
  spdlog::info("agent attested: {} ({}; {} selectors)", agent_id, params.type, node.selectors.size());
  return AttestedAgent{result->agent_id, std::move(svid), result->can_reattest};
}

}  // namespace spirecvm::server
