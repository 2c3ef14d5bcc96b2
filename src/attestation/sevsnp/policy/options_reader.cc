#include "attestation/sevsnp/policy/options_reader.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::sevsnp::policy {
namespace {

using Strings = std::vector<std::string>;

absl::StatusOr<uint32_t> InRange(int64_t v, int64_t max) {
  if (v < 0 || v > max) return absl::InvalidArgumentError(absl::StrCat("must be 0..", max, ", got ", v));
  return static_cast<uint32_t>(v);
}

constexpr int64_t kU32Max = std::numeric_limits<uint32_t>::max();

template <bool Policy::*M>
absl::Status SetBool(const KnobValue& v, Policy& p) {
  p.*M = std::get<bool>(v);
  return absl::OkStatus();
}

template <uint32_t Policy::*M, int64_t Max>
absl::Status SetUint(const KnobValue& v, Policy& p) {
  ASSIGN_OR_RETURN(p.*M, InRange(std::get<int64_t>(v), Max));
  return absl::OkStatus();
}

absl::Status SetVmpl(const KnobValue& v, Policy& p) {
  ASSIGN_OR_RETURN(p.vmpl, InRange(std::get<int64_t>(v), 3));
  return absl::OkStatus();
}

template <std::optional<abi::Tcb> Policy::*M>
absl::Status SetTcb(const KnobValue& v, Policy& p) {
  ASSIGN_OR_RETURN(p.*M, ParseTcb(std::get<std::string>(v)));
  return absl::OkStatus();
}

template <std::optional<FirmwareVersion> Policy::*M>
absl::Status SetFirmware(const KnobValue& v, Policy& p) {
  ASSIGN_OR_RETURN(p.*M, ParseFirmwareVersion(std::get<std::string>(v)));
  return absl::OkStatus();
}

// Hex allow-lists are kept lower-case (ValidatePolicy checks their length and digits).
template <Strings Policy::*M>
absl::Status SetHexList(const KnobValue& v, Policy& p) {
  (p.*M).clear();
  for (const auto& s : std::get<Strings>(v)) (p.*M).push_back(absl::AsciiStrToLower(s));
  return absl::OkStatus();
}

template <Strings Policy::*M>
absl::Status SetList(const KnobValue& v, Policy& p) {
  p.*M = std::get<Strings>(v);
  return absl::OkStatus();
}

absl::Status SetReportData(const KnobValue& v, Policy& p) {
  p.report_data = absl::AsciiStrToLower(std::get<std::string>(v));
  return absl::OkStatus();
}

absl::Status SetSigningKeys(const KnobValue& v, Policy& p) {
  p.allowed_signing_keys.clear();
  for (const auto& s : std::get<Strings>(v)) p.allowed_signing_keys.push_back(absl::AsciiStrToUpper(s));
  return absl::OkStatus();
}

absl::Status SetReportVersions(const KnobValue& v, Policy& p) {
  std::vector<uint32_t> versions;
  for (int64_t n : std::get<std::vector<int64_t>>(v)) {
    ASSIGN_OR_RETURN(uint32_t version, InRange(n, 255));
    versions.push_back(version);
  }
  p.allowed_report_versions = std::move(versions);
  return absl::OkStatus();
}

using K = KnobKind;
// A table: one row per knob; splitting it would only scatter the list.
const Knob kKnobs[] = {
    {"allow_debug", "allow-debug", K::kBool, "Accept guests launched with POLICY.DEBUG", SetBool<&Policy::allow_debug>},
    {"allow_migration_agent", "allow-migration-agent", K::kBool, "Accept guests with POLICY.MIGRATE_MA",
     SetBool<&Policy::allow_migration_agent>},
    {"allow_smt", "allow-smt", K::kBool, "Accept guests with POLICY.SMT", SetBool<&Policy::allow_smt>},
    {"vmpl", "vmpl", K::kInt, "Exact VMPL required (0..3)", SetVmpl},
    {"max_vmpl", "max-vmpl", K::kInt, "Highest VMPL accepted (0..3)", SetUint<&Policy::max_vmpl, 3>},
    {"min_guest_svn", "min-guest-svn", K::kInt, "Minimum GUEST_SVN", SetUint<&Policy::min_guest_svn, kU32Max>},
    {"min_reported_tcb", "min-reported-tcb", K::kString, "Minimum REPORTED_TCB, bl.tee.snp.ucode (Turin: .fmc)",
     SetTcb<&Policy::min_reported_tcb>, "min_tcb", "min-tcb"},
    {"min_current_tcb", "min-current-tcb", K::kString, "Minimum CURRENT_TCB, same form as -min-tcb",
     SetTcb<&Policy::min_current_tcb>},
    {"min_committed_tcb", "min-committed-tcb", K::kString, "Minimum COMMITTED_TCB, same form as -min-tcb",
     SetTcb<&Policy::min_committed_tcb>},
    {"min_launch_tcb", "min-launch-tcb", K::kString, "Minimum LAUNCH_TCB, same form as -min-tcb",
     SetTcb<&Policy::min_launch_tcb>},
    {"min_current_firmware", "min-current-firmware", K::kString, "Minimum current SEV-SNP firmware, major.minor.build",
     SetFirmware<&Policy::min_current_firmware>},
    {"min_committed_firmware", "min-committed-firmware", K::kString,
     "Minimum committed SEV-SNP firmware, major.minor.build", SetFirmware<&Policy::min_committed_firmware>},
    {"require_committed_equals_current", "require-committed-equals-current", K::kBool,
     "Require committed TCB and firmware to equal the current ones",
     SetBool<&Policy::require_committed_equals_current>},
    {"allowed_measurements", "measurement", K::kStringList,
     "Allowed launch measurement, 96 hex characters (repeatable)", SetHexList<&Policy::allowed_measurements>},
    {"allowed_host_data", "host-data", K::kStringList, "Allowed HOST_DATA, 64 hex characters (repeatable)",
     SetHexList<&Policy::allowed_host_data>},
    {"report_data", "policy-report-data", K::kString,
     "Policy: REPORT_DATA must equal this, 128 hex characters (a policy violation, unlike -report-data)",
     SetReportData},
    {"allowed_id_key_digests", "id-key-digest", K::kStringList, "Allowed ID_KEY_DIGEST, 96 hex characters (repeatable)",
     SetHexList<&Policy::allowed_id_key_digests>},
    {"allowed_report_versions", "report-version", K::kIntList,
     "Allowed report VERSION (repeatable; default 2, 3, 4, 5)", SetReportVersions},
    {"allowed_signing_keys", "signing-key", K::kStringList, "Allowed signing key, VCEK or VLEK (repeatable)",
     SetSigningKeys},
    {"required_platform_flags", "require-platform-flag", K::kStringList,
     "Required PLATFORM_INFO flag, e.g. ALIAS_CHECK_COMPLETE (repeatable)", SetList<&Policy::required_platform_flags>},
    {"allowed_csp_ids", "csp-id", K::kStringList, "Allowed VLEK csp_id (repeatable)",
     SetList<&Policy::allowed_csp_ids>},
};

// An HCL list of whole numbers; the knob's setter checks the range.
std::optional<KnobValue> ReadIntList(config::Section& section, const char* key) {
  std::optional<hcl::Value> raw = section.Raw(key);
  if (!raw.has_value()) return std::nullopt;
  if (raw->kind != hcl::Value::Kind::kList) {
    section.AddKeyError(key, absl::StrCat(key, ": want a list of numbers, e.g. [2, 3, 5]"));
    return std::nullopt;
  }
  std::vector<int64_t> out;
  for (const auto& item : raw->list) {
    if (item.kind != hcl::Value::Kind::kNumber || std::trunc(item.number) != item.number ||
        std::fabs(item.number) > 1e15) {
      section.AddKeyError(key, absl::StrCat(key, ": every item must be a whole number"));
      return std::nullopt;
    }
    out.push_back(static_cast<int64_t>(item.number));
  }
  return out;
}

// A bool knob's default: true when setting it to true leaves `defaults` unchanged.
bool BoolDefault(const Knob& knob, const Policy& defaults) {
  Policy p = defaults;
  return knob.set(true, p).ok() && p == defaults;
}

template <typename T>
std::optional<KnobValue> Lift(std::optional<T> v) {
  if (!v.has_value()) return std::nullopt;
  return KnobValue(std::move(*v));
}

// The value of `key` as the knob's kind; nullopt when absent or of the wrong type (error recorded).
std::optional<KnobValue> ReadHclValue(config::Section& section, KnobKind kind, const char* key) {
  switch (kind) {
    case K::kBool:
      return Lift(section.Bool(key));
    case K::kInt:
      return Lift(section.Int(key));
    case K::kString:
      return Lift(section.String(key));
    case K::kStringList:
      return Lift(section.StringList(key));
    case K::kIntList:
      return ReadIntList(section, key);
  }
  return std::nullopt;
}

void ReadHclKnob(config::Section& section, const Knob& knob, const char* key, Policy& policy) {
  std::optional<KnobValue> value = ReadHclValue(section, knob.kind, key);
  if (!value.has_value()) return;
  if (absl::Status st = ApplyKnob(knob, *value, policy, key); !st.ok()) {
    section.AddKeyError(key, std::string(st.message()));
  }
}

}  // namespace

absl::Span<const Knob> PolicyKnobs() { return kKnobs; }

absl::Status ApplyKnob(const Knob& knob, const KnobValue& value, Policy& policy, std::string_view name) {
  return Annotate(knob.set(value, policy), name);
}

void ReadPolicySection(config::Section& section, Policy& policy) {
  for (const Knob& knob : kKnobs) {
    ReadHclKnob(section, knob, knob.key, policy);
    if (knob.key_alias != nullptr) ReadHclKnob(section, knob, knob.key_alias, policy);
  }
  if (absl::Status st = Annotate(ValidatePolicy(policy), "policy"); !st.ok()) {
    section.AddError(section.pos(), std::string(st.message()));
  }
}

// Storage for one registered flag (FlagSet keeps pointers into it).
struct PolicyFlags::Slot {
  const Knob* knob;
  std::string name;
  bool b = false;
  int64_t i = 0;
  std::string s;
  Strings list;

  // The flag's value as the knob's kind (kIntList: each item parsed as a number).
  absl::StatusOr<KnobValue> Value() const {
    switch (knob->kind) {
      case K::kBool:
        return b;
      case K::kInt:
        return i;
      case K::kString:
        return s;
      case K::kStringList:
        return list;
      case K::kIntList:
        break;
    }
    std::vector<int64_t> numbers;
    for (const auto& item : list) {
      int64_t n;
      if (!absl::SimpleAtoi(item, &n)) {
        return absl::InvalidArgumentError(absl::StrCat("\"", item, "\" is not a whole number"));
      }
      numbers.push_back(n);
    }
    return numbers;
  }
};

PolicyFlags::PolicyFlags(const Policy& defaults) : defaults_(defaults) {}
PolicyFlags::~PolicyFlags() = default;

void PolicyFlags::Register(flags::FlagSet& fs) {
  for (const Knob& knob : kKnobs) {
    for (const char* name : {knob.flag, knob.flag_alias}) {
      if (name == nullptr) continue;
      auto slot = std::make_unique<Slot>();
      slot->knob = &knob;
      slot->name = name;
      switch (knob.kind) {
        case K::kBool:
          slot->b = BoolDefault(knob, defaults_);
          fs.Bool(name, &slot->b, knob.help);
          break;
        case K::kInt:
          fs.Int(name, &slot->i, knob.help);
          break;
        case K::kString:
          fs.String(name, &slot->s, knob.help);
          break;
        case K::kStringList:
        case K::kIntList:
          fs.StringList(name, &slot->list, knob.help);
          break;
      }
      slots_.push_back(std::move(slot));
    }
  }
}

std::vector<std::string> PolicyFlags::Apply(const flags::FlagSet& fs, Policy& policy) const {
  std::vector<std::string> errors;
  for (const auto& slot : slots_) {
    if (!fs.IsSet(slot->name)) continue;
    const std::string flag = absl::StrCat("-", slot->name);
    absl::StatusOr<KnobValue> value = slot->Value();
    absl::Status st = value.ok() ? ApplyKnob(*slot->knob, *value, policy, flag) : Annotate(value.status(), flag);
    if (!st.ok()) errors.emplace_back(st.message());
  }
  if (absl::Status st = ValidatePolicy(policy); !st.ok()) errors.emplace_back(st.message());
  return errors;
}

}  // namespace spirecvm::sevsnp::policy
