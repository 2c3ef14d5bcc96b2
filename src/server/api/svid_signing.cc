#include "server/api/svid_signing.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "crypto/csr.h"
#include "server/api/limits.h"
#include "server/api/node_facts_ext.h"

namespace spirecvm::server {
namespace {

// A node admitted with launch-bound evidence (SEV-SNP) renews only while that evidence is younger than its
// attestor's MaxEvidenceAge (sev_snp.reattest_interval); after it, the current policy must be applied to a fresh
// report. Fails closed when the attestor that admitted the node is no longer configured.
absl::Status CheckEvidenceFresh(const AgentApiDeps& deps, const AuthenticatedAgent& a) {
  if (a.node.launch_id.empty()) return absl::OkStatus();
  auto it = deps.attestors.find(a.node.attestation_type);
  if (it == deps.attestors.end()) {
    return absl::PermissionDeniedError(absl::StrCat("agent ", a.spiffe_id, " was admitted by NodeAttestor \"",
                                                    a.node.attestation_type,
                                                    "\", which is no longer configured: it cannot renew"));
  }
  std::optional<absl::Duration> max_age = it->second->MaxEvidenceAge();
  if (!max_age) return absl::OkStatus();
  const absl::Time evidence = absl::FromUnixSeconds(a.node.evidence_at);
  if (deps.clock.Now() - evidence < *max_age) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("agent ", a.spiffe_id, " must attest again: its attestation evidence (", absl::FormatTime(evidence),
                   ") is older than the attestor's re-attestation interval (", absl::FormatDuration(*max_age),
                   "; sev_snp.reattest_interval)"));
}

// The facts a workload SVID for `workload_id` carries: the node's, when its attestor enables them; else none.
std::string_view WorkloadFacts(const AgentApiDeps& deps, const datastore::AttestedNode* node,
                               std::string_view workload_id) {
  if (node == nullptr || node->facts.empty()) return {};
  auto it = deps.attestors.find(node->attestation_type);
  if (it == deps.attestors.end() || !it->second->FactsInWorkloadSvids(workload_id)) return {};
  return node->facts;
}

}  // namespace

absl::StatusOr<SignedX509Svid> RenewAgentSvid(const AgentApiDeps& deps, const AuthenticatedAgent& a,
                                              std::string_view csr_der) {
  RETURN_IF_ERROR(CheckEvidenceFresh(deps, a));
  if (csr_der.size() > kMaxCsr) return absl::InvalidArgumentError("CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(csr_der);
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("agent CSR rejected: ", csr.status().message()));
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::Parse(a.spiffe_id));
  // The facts of the node's last accepted evidence (read with the node at authentication).
  ASSIGN_OR_RETURN(SignedX509Svid svid,
                   deps.ca.SignX509Svid(csr->spki_der, id, deps.ttls.agent, {}, FactsExtensions(a.node.facts)));
  // Compare-and-swap against the serials authentication read (docs/security.md, finding 3): if the node re-attested,
  // was renewed by another caller or banned meanwhile, this renewal is refused and its SVID never handed out.
  const datastore::NodeSerials expected{a.node.cert_serial, 0, a.node.new_cert_serial, 0};
  const datastore::NodeSerials next{a.node.cert_serial, a.node.cert_not_after, svid.serial,
                                    absl::ToUnixSeconds(svid.not_after)};
  if (auto st = deps.ds.UpdateAttestedNodeSerials(a.spiffe_id, expected, next); !st.ok()) {
    if (absl::IsFailedPrecondition(st)) {
      return absl::PermissionDeniedError(absl::StrCat("agent ", a.spiffe_id, " not renewed: ", st.message()));
    }
    return st;
  }
  return svid;
}

absl::StatusOr<SignedX509Svid> SignEntryX509Svid(const AgentApiDeps& deps, const datastore::EntryBody& e,
                                                 std::string_view csr_der, const datastore::AttestedNode* node) {
  if (csr_der.size() > kMaxCsr) return absl::InvalidArgumentError("CSR is too large");
  auto csr = crypto::ParseAndVerifyCsr(csr_der);
  if (!csr.ok()) return absl::InvalidArgumentError(absl::StrCat("CSR rejected: ", csr.status().message()));
  // The SVID is always a leaf with the entry's ID; a CSR asking for more is refused rather than silently narrowed,
  // so a confused or hostile caller learns it gets nothing of what it asked for.
  if (csr->requests_ca) {
    return absl::InvalidArgumentError(
        absl::StrCat("CSR rejected: it asks for a CA certificate (basicConstraints "
                     "CA:TRUE); an X509-SVID for entry ",
                     e.id, " is never a CA"));
  }
  for (const std::string& uri : csr->uri_sans) {
    if (uri != e.spiffe_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("CSR rejected: it asks for SPIFFE ID \"", uri, "\" but entry ", e.id, " is for ", e.spiffe_id));
    }
  }
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::Parse(e.spiffe_id));
  absl::Duration ttl = e.x509_svid_ttl > 0 ? absl::Seconds(e.x509_svid_ttl) : deps.ttls.x509;
  ASSIGN_OR_RETURN(SignedX509Svid svid, deps.ca.SignX509Svid(csr->spki_der, id, ttl, e.dns_names,
                                                             FactsExtensions(WorkloadFacts(deps, node, e.spiffe_id))));
  deps.metrics.x509_svids_minted++;
  return svid;
}

absl::StatusOr<SignedJwtSvid> SignEntryJwtSvid(const AgentApiDeps& deps, const datastore::EntryBody& e,
                                               const std::vector<std::string>& audience,
                                               const datastore::AttestedNode* node) {
  if (audience.empty()) return absl::InvalidArgumentError("at least one audience is required");
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::Parse(e.spiffe_id));
  absl::Duration ttl = e.jwt_svid_ttl > 0 ? absl::Seconds(e.jwt_svid_ttl) : deps.ttls.jwt;
  ASSIGN_OR_RETURN(SignedJwtSvid jwt,
                   deps.ca.SignJwtSvid(id, audience, ttl, FactsClaims(WorkloadFacts(deps, node, e.spiffe_id))));
  deps.metrics.jwt_svids_minted++;
  return jwt;
}

}  // namespace spirecvm::server
