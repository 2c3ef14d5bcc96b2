#include "server/nodeattest/sev_snp_facts.h"

#include <algorithm>
#include <array>

#include "common/strings.h"

namespace spirecvm::server {
namespace {

template <size_t N>
std::string Bytes(const std::array<uint8_t, N>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), N);
}

}  // namespace

cvm::NodeFacts SevSnpNodeFacts(const sevsnp::verify::VerifiedReport& vr, std::string_view account_id,
                               std::string_view region, absl::Time at) {
  namespace pb = sevsnp::abi::policy_bit;
  const auto& rep = vr.report;
  cvm::NodeFacts f;
  f.attestation_kind = std::string(cvm::kAwsIidSevSnp);
  f.measurement = Bytes(rep.measurement);
  f.report_version = rep.version;
  f.product = std::string(ToStd(sevsnp::abi::ProductName(vr.product)));
  f.signing_key =
      vr.signing_key == sevsnp::abi::SigningKey::kVlek ? cvm::SigningKeyKind::kVlek : cvm::SigningKeyKind::kVcek;
  f.csp_id = vr.endorsement.csp_id;
  f.reported_tcb = rep.reported_tcb;
  f.policy_debug = (rep.policy & pb::kDebug) != 0;
  f.policy_migrate_ma = (rep.policy & pb::kMigrateMa) != 0;
  f.policy_smt = (rep.policy & pb::kSmt) != 0;
  f.vmpl = rep.vmpl;
  f.host_data = Bytes(rep.host_data);
  f.report_id = Bytes(rep.report_id);
  f.aws_account_id = std::string(account_id);
  f.aws_region = std::string(region);
  f.attested_at = absl::FromUnixSeconds(absl::ToUnixSeconds(at));
  return f;
}

bool ExcludedFromSvidEvidence(std::string_view spiffe_id, const std::vector<std::string>& exclude_prefixes) {
  return std::any_of(exclude_prefixes.begin(), exclude_prefixes.end(),
                     [&](const std::string& p) { return spiffe_id.substr(0, p.size()) == p; });
}

}  // namespace spirecvm::server
