#include "attestation/sevsnp/policy/policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace spirecvm::sevsnp::policy {
namespace {

bool IsHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

absl::Status CheckHexList(const std::vector<std::string>& list, size_t bytes, absl::string_view key,
                          std::vector<std::string>& errors) {
  for (const auto& v : list) {
    if (v.size() != bytes * 2 || !IsHex(v)) {
      errors.push_back(absl::StrCat(key, ": \"", v, "\" is not ", bytes * 2, " hex characters"));
    }
  }
  return absl::OkStatus();
}

bool HexIn(const std::string& actual_lower_hex, const std::vector<std::string>& list) {
  for (const auto& v : list)
    if (absl::AsciiStrToLower(v) == actual_lower_hex) return true;
  return false;
}

void CheckMinTcb(absl::string_view field, const abi::Tcb& actual, const std::optional<abi::Tcb>& min,
                 abi::Product product, std::vector<std::string>& out) {
  if (!min.has_value()) return;
  std::string lower;
  if (!abi::TcbAtLeast(actual, *min, product, &lower)) {
    out.push_back(absl::StrCat("report field ", field, " (", abi::TcbString(actual, product),
                               ") is below the minimum (", abi::TcbString(*min, product), "): component ", lower,
                               " is lower"));
  }
}

int FwCompare(const FirmwareVersion& a, const FirmwareVersion& b) {
  auto key = [](const FirmwareVersion& v) { return v.major << 16 | v.minor << 8 | v.build; };
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

std::string FwString(const FirmwareVersion& v) { return absl::StrFormat("%d.%d.%d", v.major, v.minor, v.build); }

}  // namespace

absl::StatusOr<abi::Tcb> ParseTcb(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4 && parts.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("TCB \"", text, "\" must be bl.tee.snp.ucode (Turin: bl.tee.snp.ucode.fmc)"));
  }
  uint8_t v[5] = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < parts.size(); ++i) {
    uint32_t n;
    if (!absl::SimpleAtoi(parts[i], &n) || n > 255) {
      return absl::InvalidArgumentError(absl::StrCat("TCB \"", text, "\": component \"", parts[i], "\" is not 0..255"));
    }
    v[i] = static_cast<uint8_t>(n);
  }
  abi::Tcb t;
  t.bl = v[0];
  t.tee = v[1];
  t.snp = v[2];
  t.ucode = v[3];
  t.fmc = v[4];
  return t;
}

absl::StatusOr<FirmwareVersion> ParseFirmwareVersion(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("firmware version \"", text, "\" must be major.minor.build"));
  }
  uint32_t n[3];
  for (int i = 0; i < 3; ++i) {
    if (!absl::SimpleAtoi(parts[i], &n[i]) || n[i] > 255) {
      return absl::InvalidArgumentError(absl::StrCat("firmware version \"", text, "\": bad component"));
    }
  }
  return FirmwareVersion{static_cast<uint8_t>(n[0]), static_cast<uint8_t>(n[1]), static_cast<uint8_t>(n[2])};
}

absl::StatusOr<uint64_t> PlatformFlagBit(absl::string_view name) {
  const std::string n = absl::AsciiStrToUpper(name);
  if (n == "SMT_EN") return abi::platform_bit::kSmtEn;
  if (n == "TSME_EN") return abi::platform_bit::kTsmeEn;
  if (n == "ECC_EN") return abi::platform_bit::kEccEn;
  if (n == "RAPL_DIS") return abi::platform_bit::kRaplDis;
  if (n == "CIPHERTEXT_HIDING_EN") return abi::platform_bit::kCiphertextHidingEn;
  if (n == "ALIAS_CHECK_COMPLETE") return abi::platform_bit::kAliasCheckComplete;
  if (n == "TIO_EN") return abi::platform_bit::kTioEn;
  return absl::InvalidArgumentError(absl::StrCat("unknown PLATFORM_INFO flag \"", name, "\""));
}

absl::Status ValidatePolicy(const Policy& p) {
  std::vector<std::string> errors;
  (void)CheckHexList(p.allowed_measurements, 48, "allowed_measurements", errors);
  (void)CheckHexList(p.allowed_host_data, 32, "allowed_host_data", errors);
  (void)CheckHexList(p.allowed_id_key_digests, 48, "allowed_id_key_digests", errors);
  if (p.report_data.has_value()) (void)CheckHexList({*p.report_data}, 64, "report_data", errors);
  for (const auto& k : p.allowed_signing_keys) {
    const std::string u = absl::AsciiStrToUpper(k);
    if (u != "VCEK" && u != "VLEK") {
      errors.push_back(absl::StrCat("allowed_signing_keys: \"", k, "\" is not VCEK or VLEK"));
    }
  }
  for (const auto& f : p.required_platform_flags) {
    if (auto b = PlatformFlagBit(f); !b.ok()) {
      errors.emplace_back(Annotate(b, "required_platform_flags").message());
    }
  }
  if (p.vmpl.has_value() && *p.vmpl > 3) errors.push_back("vmpl must be 0..3");
  if (p.max_vmpl > 3) errors.push_back("max_vmpl must be 0..3");
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid SEV-SNP policy: ", absl::StrJoin(errors, "; ")));
}

std::vector<std::string> GuestPolicyViolations(const verify::VerifiedReport& v, const Policy& p) {
  std::vector<std::string> out;
  const abi::Report& r = v.report;
  if (!p.allow_debug && (r.policy & abi::policy_bit::kDebug)) {
    out.push_back("report POLICY has DEBUG set (guest memory readable by the host); allow_debug is false");
  }
  if (!p.allow_migration_agent && (r.policy & abi::policy_bit::kMigrateMa)) {
    out.push_back(
        "report POLICY has MIGRATE_MA set (a migration agent may be associated); allow_migration_agent is false");
  }
  if (!p.allow_smt && (r.policy & abi::policy_bit::kSmt)) {
    out.push_back("report POLICY has SMT allowed; allow_smt is false");
  }
  if (r.vmpl > p.max_vmpl) {
    out.push_back(absl::StrCat("report field VMPL is ", r.vmpl, ", above max_vmpl ", p.max_vmpl));
  }
  if (p.vmpl.has_value() && r.vmpl != *p.vmpl) {
    out.push_back(absl::StrCat("report field VMPL is ", r.vmpl, ", want exactly ", *p.vmpl));
  }
  if (r.guest_svn < p.min_guest_svn) {
    out.push_back(absl::StrCat("report field GUEST_SVN is ", r.guest_svn, ", below min_guest_svn ", p.min_guest_svn));
  }
  return out;
}

std::vector<std::string> TcbViolations(const verify::VerifiedReport& v, const Policy& p) {
  std::vector<std::string> out;
  const abi::Report& r = v.report;
  CheckMinTcb("REPORTED_TCB", v.reported_tcb, p.min_reported_tcb, v.product, out);
  CheckMinTcb("CURRENT_TCB", v.current_tcb, p.min_current_tcb, v.product, out);
  CheckMinTcb("COMMITTED_TCB", v.committed_tcb, p.min_committed_tcb, v.product, out);
  CheckMinTcb("LAUNCH_TCB", v.launch_tcb, p.min_launch_tcb, v.product, out);
  const FirmwareVersion cur{r.current_major, r.current_minor, r.current_build};
  const FirmwareVersion com{r.committed_major, r.committed_minor, r.committed_build};
  if (p.min_current_firmware.has_value() && FwCompare(cur, *p.min_current_firmware) < 0) {
    out.push_back(absl::StrCat("report CURRENT firmware ", FwString(cur), " is below min_current_firmware ",
                               FwString(*p.min_current_firmware)));
  }
  if (p.min_committed_firmware.has_value() && FwCompare(com, *p.min_committed_firmware) < 0) {
    out.push_back(absl::StrCat("report COMMITTED firmware ", FwString(com), " is below min_committed_firmware ",
                               FwString(*p.min_committed_firmware)));
  }
  if (!p.require_committed_equals_current) return out;
  if (!(v.committed_tcb == v.current_tcb)) {
    out.push_back(absl::StrCat("report COMMITTED_TCB (", abi::TcbString(v.committed_tcb, v.product),
                               ") differs from CURRENT_TCB (", abi::TcbString(v.current_tcb, v.product),
                               "); require_committed_equals_current is true"));
  }
  if (FwCompare(cur, com) != 0) {
    out.push_back(absl::StrCat("report COMMITTED firmware ", FwString(com), " differs from CURRENT ", FwString(cur),
                               "; require_committed_equals_current is true"));
  }
  return out;
}

std::vector<std::string> IdentityViolations(const verify::VerifiedReport& v, const Policy& p) {
  std::vector<std::string> out;
  if (!p.allowed_measurements.empty() && !HexIn(v.MeasurementHex(), p.allowed_measurements)) {
    out.push_back(absl::StrCat("report field MEASUREMENT ", v.MeasurementHex(), " is not in allowed_measurements"));
  }
  if (!p.allowed_host_data.empty() && !HexIn(v.HostDataHex(), p.allowed_host_data)) {
    out.push_back(absl::StrCat("report field HOST_DATA ", v.HostDataHex(), " is not in allowed_host_data"));
  }
  if (p.report_data.has_value() && absl::AsciiStrToLower(*p.report_data) != v.ReportDataHex()) {
    out.push_back(absl::StrCat("report field REPORT_DATA ", v.ReportDataHex(), " does not equal report_data"));
  }
  if (!p.allowed_id_key_digests.empty()) {
    const auto& d = v.report.id_key_digest;
    std::string hex = absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
    if (!HexIn(hex, p.allowed_id_key_digests)) {
      out.push_back(absl::StrCat("report field ID_KEY_DIGEST ", hex, " is not in allowed_id_key_digests"));
    }
  }
  return out;
}

std::vector<std::string> PlatformViolations(const verify::VerifiedReport& v, const Policy& p) {
  std::vector<std::string> out;
  const abi::Report& r = v.report;
  if (std::find(p.allowed_report_versions.begin(), p.allowed_report_versions.end(), r.version) ==
      p.allowed_report_versions.end()) {
    out.push_back(absl::StrCat("report field VERSION is ", r.version, ", not in allowed_report_versions [",
                               absl::StrJoin(p.allowed_report_versions, ","), "]"));
  }
  const std::string key(abi::SigningKeyName(v.signing_key));
  if (std::none_of(p.allowed_signing_keys.begin(), p.allowed_signing_keys.end(),
                   [&](const std::string& k) { return absl::AsciiStrToUpper(k) == key; })) {
    out.push_back(absl::StrCat("report SIGNING_KEY is ", key, ", not in allowed_signing_keys [",
                               absl::StrJoin(p.allowed_signing_keys, ","), "]"));
  }
  for (const auto& f : p.required_platform_flags) {
    auto bit = PlatformFlagBit(f);
    if (!bit.ok()) {
      out.push_back(std::string(bit.status().message()));
    } else if ((r.platform_info & *bit) == 0) {
      out.push_back(absl::StrCat("report PLATFORM_INFO (", absl::StrFormat("0x%x", r.platform_info),
                                 ") lacks required flag ", absl::AsciiStrToUpper(f)));
    }
  }
  if (p.allowed_csp_ids.empty()) return out;
  if (v.signing_key != abi::SigningKey::kVlek) {
    out.push_back("allowed_csp_ids is set but the report is VCEK-signed (no csp_id)");
  } else if (std::find(p.allowed_csp_ids.begin(), p.allowed_csp_ids.end(), v.endorsement.csp_id) ==
             p.allowed_csp_ids.end()) {
    out.push_back(absl::StrCat("VLEK csp_id \"", v.endorsement.csp_id, "\" is not in allowed_csp_ids"));
  }
  return out;
}

std::vector<std::string> Violations(const verify::VerifiedReport& v, const Policy& p) {
  std::vector<std::string> out;
  for (auto check : {GuestPolicyViolations, TcbViolations, IdentityViolations, PlatformViolations}) {
    for (auto& violation : check(v, p)) out.push_back(std::move(violation));
  }
  return out;
}

absl::Status Evaluate(const verify::VerifiedReport& report, const Policy& policy) {
  std::vector<std::string> v = Violations(report, policy);
  if (v.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("SEV-SNP policy violated: ", absl::StrJoin(v, "; ")));
}

}  // namespace spirecvm::sevsnp::policy
