#include "cvm/node_facts.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/der.h"
#include "nlohmann/json.hpp"

namespace spirecvm::cvm {
namespace {

absl::Status CheckText(std::string_view v, std::string_view what, bool may_be_empty) {
  if (v.empty() && !may_be_empty) return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": empty"));
  if (v.size() > kMaxFactText) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": longer than ", kMaxFactText, " bytes"));
  }
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": not printable ASCII"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBytes(std::string_view v, size_t n, std::string_view what) {
  if (v.size() == n) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": ", v.size(), " bytes, expected ", n));
}

// Every rule both directions share.
absl::Status CheckFacts(const NodeFacts& f) {
  if (f.version != kNodeFactsVersion) {
    return absl::InvalidArgumentError(absl::StrCat("version: ", f.version, " is not ", kNodeFactsVersion));
  }
  RETURN_IF_ERROR(CheckText(f.attestation_kind, "attestationKind", false));
  RETURN_IF_ERROR(CheckBytes(f.measurement, 48, "measurement"));
  RETURN_IF_ERROR(CheckText(f.product, "product", false));
  RETURN_IF_ERROR(CheckText(f.csp_id, "cspId", true));
  if (f.vmpl > 3) return absl::InvalidArgumentError(absl::StrCat("vmpl: ", f.vmpl, " is not 0..3"));
  RETURN_IF_ERROR(CheckBytes(f.host_data, 32, "hostData"));
  RETURN_IF_ERROR(CheckBytes(f.report_id, 32, "reportId"));
  RETURN_IF_ERROR(CheckText(f.aws_account_id, "awsAccountId", true));
  RETURN_IF_ERROR(CheckText(f.aws_region, "awsRegion", true));
  if (f.attested_at < absl::UnixEpoch() || f.attested_at != absl::FromUnixSeconds(absl::ToUnixSeconds(f.attested_at))) {
    return absl::InvalidArgumentError("attestedAt: not a whole second after 1970");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NextText(der::Reader& r, std::string_view what, bool may_be_empty) {
  ASSIGN_OR_RETURN(std::string_view v, r.Next(der::kUtf8String, what));
  RETURN_IF_ERROR(CheckText(v, what, may_be_empty));
  return std::string(v);
}

absl::StatusOr<uint32_t> NextUint32(der::Reader& r, uint8_t tag, std::string_view what) {
  ASSIGN_OR_RETURN(uint64_t v, r.NextUint(tag, what));
  if (v > UINT32_MAX) return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": larger than 32 bits"));
  return static_cast<uint32_t>(v);
}

// The fields after `version`, in the module's order.
absl::Status DecodeFields(der::Reader& r, NodeFacts& f) {
  ASSIGN_OR_RETURN(f.attestation_kind, NextText(r, "attestationKind", false));
  ASSIGN_OR_RETURN(std::string_view m, r.Next(der::kOctetString, "measurement"));
  f.measurement = std::string(m);
  ASSIGN_OR_RETURN(f.report_version, NextUint32(r, der::kInteger, "reportVersion"));
  ASSIGN_OR_RETURN(f.product, NextText(r, "product", false));
  ASSIGN_OR_RETURN(uint64_t key, r.NextUint(der::kEnumerated, "signingKey"));
  if (key > 1) return absl::InvalidArgumentError(absl::StrCat("signingKey: ", key, " is neither vcek(0) nor vlek(1)"));
  f.signing_key = static_cast<SigningKeyKind>(key);
  ASSIGN_OR_RETURN(f.csp_id, NextText(r, "cspId", true));
  ASSIGN_OR_RETURN(f.reported_tcb, r.NextUint(der::kInteger, "reportedTcb"));
  ASSIGN_OR_RETURN(f.policy_debug, r.NextBool("policyDebug"));
  ASSIGN_OR_RETURN(f.policy_migrate_ma, r.NextBool("policyMigrateMa"));
  ASSIGN_OR_RETURN(f.policy_smt, r.NextBool("policySmt"));
  ASSIGN_OR_RETURN(f.vmpl, NextUint32(r, der::kInteger, "vmpl"));
  ASSIGN_OR_RETURN(std::string_view hd, r.Next(der::kOctetString, "hostData"));
  f.host_data = std::string(hd);
  ASSIGN_OR_RETURN(std::string_view rid, r.Next(der::kOctetString, "reportId"));
  f.report_id = std::string(rid);
  ASSIGN_OR_RETURN(f.aws_account_id, NextText(r, "awsAccountId", true));
  ASSIGN_OR_RETURN(f.aws_region, NextText(r, "awsRegion", true));
  ASSIGN_OR_RETURN(f.attested_at, r.NextTime("attestedAt"));
  if (!r.empty()) return absl::InvalidArgumentError("NodeFacts: unexpected fields after attestedAt");
  return absl::OkStatus();
}

}  // namespace

std::string_view SigningKeyKindName(SigningKeyKind k) { return k == SigningKeyKind::kVlek ? "VLEK" : "VCEK"; }

absl::StatusOr<std::string> EncodeNodeFacts(const NodeFacts& f) {
  RETURN_IF_ERROR(Annotate(CheckFacts(f), "node facts"));
  std::string body = absl::StrCat(
      der::Uint(der::kInteger, static_cast<uint64_t>(f.version)), der::Tlv(der::kUtf8String, f.attestation_kind),
      der::Tlv(der::kOctetString, f.measurement), der::Uint(der::kInteger, f.report_version),
      der::Tlv(der::kUtf8String, f.product), der::Uint(der::kEnumerated, static_cast<uint64_t>(f.signing_key)),
      der::Tlv(der::kUtf8String, f.csp_id), der::Uint(der::kInteger, f.reported_tcb), der::Bool(f.policy_debug),
      der::Bool(f.policy_migrate_ma), der::Bool(f.policy_smt), der::Uint(der::kInteger, f.vmpl),
      der::Tlv(der::kOctetString, f.host_data), der::Tlv(der::kOctetString, f.report_id),
      der::Tlv(der::kUtf8String, f.aws_account_id), der::Tlv(der::kUtf8String, f.aws_region), der::Time(f.attested_at));
  return der::Tlv(der::kSequence, body);
}

absl::StatusOr<NodeFacts> DecodeNodeFacts(std::string_view in) {
  if (in.size() > kMaxNodeFactsBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("node facts: ", in.size(), " bytes, more than the limit of ", kMaxNodeFactsBytes));
  }
  der::Reader outer(in);
  auto body = outer.Next(der::kSequence, "NodeFacts");
  if (!body.ok()) return Annotate(body.status(), "node facts");
  if (!outer.empty()) return absl::InvalidArgumentError("node facts: trailing bytes after the structure");
  der::Reader r(*body);
  NodeFacts f;
  auto version = r.NextUint(der::kInteger, "version");
  if (!version.ok()) return Annotate(version.status(), "node facts");
  if (*version != static_cast<uint64_t>(kNodeFactsVersion)) {
    return absl::InvalidArgumentError(absl::StrCat("node facts: version ", *version,
                                                   " is not supported (this reader knows ", kNodeFactsVersion, ")"));
  }
  RETURN_IF_ERROR(Annotate(DecodeFields(r, f), "node facts"));
  RETURN_IF_ERROR(Annotate(CheckFacts(f), "node facts"));
  return f;
}

std::string NodeFactsToJson(const NodeFacts& f, int indent) {
  nlohmann::ordered_json j;
  j["version"] = f.version;
  j["attestation_kind"] = f.attestation_kind;
  j["measurement"] = HexEncode(f.measurement);
  j["report_version"] = f.report_version;
  j["product"] = f.product;
  j["signing_key"] = std::string(SigningKeyKindName(f.signing_key));
  j["csp_id"] = f.csp_id;
  j["reported_tcb"] = absl::StrCat(absl::Hex(f.reported_tcb, absl::kZeroPad16));
  j["policy"] = {{"debug", f.policy_debug}, {"migrate_ma", f.policy_migrate_ma}, {"smt", f.policy_smt}};
  j["vmpl"] = f.vmpl;
  j["host_data"] = HexEncode(f.host_data);
  j["report_id"] = HexEncode(f.report_id);
  j["aws"] = {{"account_id", f.aws_account_id}, {"region", f.aws_region}};
  j["attested_at"] = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", f.attested_at, absl::UTCTimeZone());
  return j.dump(indent);
}

std::string NodeFactsText(const NodeFacts& f, std::string_view indent) {
  const auto in = ToAbsl(indent);
  const char* flag[] = {"false", "true"};
  return absl::StrCat(
      in, "attestation kind:\t", f.attestation_kind, "\n", in, "measurement:\t\t", HexEncode(f.measurement), "\n", in,
      "report version:\t", f.report_version, "\n", in, "product:\t\t", f.product, "\n", in, "signing key:\t\t",
      ToAbsl(SigningKeyKindName(f.signing_key)), f.csp_id.empty() ? "" : absl::StrCat(" (", f.csp_id, ")"), "\n", in,
      "reported TCB:\t\t", absl::Hex(f.reported_tcb, absl::kZeroPad16), "\n", in,
      "policy:\t\t\tdebug=", flag[f.policy_debug], " migrate_ma=", flag[f.policy_migrate_ma],
      " smt=", flag[f.policy_smt], "\n", in, "VMPL:\t\t\t", f.vmpl, "\n", in, "host data:\t\t", HexEncode(f.host_data),
      "\n", in, "report ID:\t\t", HexEncode(f.report_id), "\n", in, "AWS account:\t\t", f.aws_account_id, "\n", in,
      "AWS region:\t\t", f.aws_region, "\n", in, "attested at:\t\t",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", f.attested_at, absl::UTCTimeZone()), "\n");
}

}  // namespace spirecvm::cvm
