// Operator policy over a VerifiedReport. Evaluated only after the signature, chain and binding
// verified (it takes a VerifiedReport, which only Verifier::Verify produces). Returns every
// violation at once so an operator can fix a configuration in one go.
//
// Field names are the HCL configuration keys (plugin_data of the aws_iid node attestor's
// `sev_snp { policy { ... } }` block). Both front ends (HCL and `spire-server sev verify` flags) fill
// this struct through the one knob table in policy/options_reader.h, then call ValidatePolicy() once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/sevsnp/abi/report.h"
#include "attestation/sevsnp/verify/verifier.h"

namespace spirecvm::sevsnp::policy {

struct FirmwareVersion {
  uint8_t major = 0, minor = 0, build = 0;
  bool operator==(const FirmwareVersion&) const = default;
};

struct Policy {
  bool allow_debug = false;            // POLICY.DEBUG set => violation unless true
  bool allow_migration_agent = false;  // POLICY.MIGRATE_MA set => violation unless true
  bool allow_smt = true;               // POLICY.SMT set => violation when false
  uint32_t max_vmpl = 0;               // VMPL > max_vmpl => violation
  std::optional<uint32_t> vmpl;        // when set, VMPL must equal it exactly
  uint32_t min_guest_svn = 0;

  // Minimum TCB per component ("bl.tee.snp.ucode", Turin "bl.tee.snp.ucode.fmc"; see ParseTcb).
  std::optional<abi::Tcb> min_reported_tcb;
  std::optional<abi::Tcb> min_current_tcb;
  std::optional<abi::Tcb> min_committed_tcb;
  std::optional<abi::Tcb> min_launch_tcb;
  // Minimum SEV-SNP firmware ("major.minor.build"), current and committed.
  std::optional<FirmwareVersion> min_current_firmware;
  std::optional<FirmwareVersion> min_committed_firmware;
  // Off by default: real AWS hosts run provisional firmware (committed < current).
  bool require_committed_equals_current = false;

  std::vector<std::string> allowed_measurements;    // hex (96 chars); empty = any
  std::vector<std::string> allowed_host_data;       // hex (64 chars); empty = any
  std::optional<std::string> report_data;           // hex (128 chars); exact match when set
  std::vector<std::string> allowed_id_key_digests;  // hex (96 chars); empty = any
  std::vector<uint32_t> allowed_report_versions = {2, 3, 4, 5};
  std::vector<std::string> allowed_signing_keys = {"VCEK", "VLEK"};
  // Required PLATFORM_INFO flags by name: SMT_EN, TSME_EN, ECC_EN, RAPL_DIS,
  // CIPHERTEXT_HIDING_EN, ALIAS_CHECK_COMPLETE, TIO_EN.
  std::vector<std::string> required_platform_flags;
  // VLEK csp_id allow-list (e.g. "CN=cc-eu-west-1.amazonaws.com"); empty = any.
  std::vector<std::string> allowed_csp_ids;

  bool operator==(const Policy&) const = default;
};

// Every configuration error at once (bad hex, unknown flag or signing key name, ...).
absl::Status ValidatePolicy(const Policy& policy);

// Every violation, each naming the field, the value and the rule; empty = accepted. The four
// checks below, in this order (each callable alone).
std::vector<std::string> Violations(const verify::VerifiedReport& report, const Policy& policy);
// POLICY bits (DEBUG, MIGRATE_MA, SMT), VMPL and GUEST_SVN.
std::vector<std::string> GuestPolicyViolations(const verify::VerifiedReport& report, const Policy& policy);
// Minimum TCBs and firmware versions, and committed == current.
std::vector<std::string> TcbViolations(const verify::VerifiedReport& report, const Policy& policy);
// Launch identity: MEASUREMENT, HOST_DATA, REPORT_DATA, ID_KEY_DIGEST.
std::vector<std::string> IdentityViolations(const verify::VerifiedReport& report, const Policy& policy);
// Report VERSION, SIGNING_KEY, required PLATFORM_INFO flags and the VLEK csp_id.
std::vector<std::string> PlatformViolations(const verify::VerifiedReport& report, const Policy& policy);

// OK, or PermissionDenied listing every violation ("; "-separated).
absl::Status Evaluate(const verify::VerifiedReport& report, const Policy& policy);

// "2.0.5.68" => bl=2 tee=0 snp=5 ucode=68; a 5th component is Turin's fmc.
absl::StatusOr<abi::Tcb> ParseTcb(absl::string_view text);
// "1.55.21" => major 1, minor 55, build 21.
absl::StatusOr<FirmwareVersion> ParseFirmwareVersion(absl::string_view text);
// PLATFORM_INFO bit of a flag name (case-insensitive).
absl::StatusOr<uint64_t> PlatformFlagBit(absl::string_view name);

}  // namespace spirecvm::sevsnp::policy
