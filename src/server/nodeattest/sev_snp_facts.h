// The node facts (src/cvm/node_facts.h) an aws_iid + SEV-SNP attestation yields: what the server verified, in the
// form the node's SVIDs carry (docs/svid-evidence.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/verify/verifier.h"
#include "cvm/node_facts.h"

namespace spirecvm::server {

// The facts of a verified report for the EC2 instance of `account_id` in `region`, attested at `at` (truncated to
// the second).
cvm::NodeFacts SevSnpNodeFacts(const sevsnp::verify::VerifiedReport& vr, std::string_view account_id,
                               std::string_view region, absl::Time at);

// Whether a workload SVID for `spiffe_id` carries its node's facts under svid_evidence_exclude: not when the ID
// starts with one of the prefixes.
bool ExcludedFromSvidEvidence(std::string_view spiffe_id, const std::vector<std::string>& exclude_prefixes);

}  // namespace spirecvm::server
