// The one SEV-SNP policy front end: a table of every policy knob (HCL key, `sev verify` flag, how
// to set it) and the two readers built on it, so `sev_snp { policy { ... } }` in the server's
// aws_iid plugin_data and `spire-server sev verify` flags reach the same Policy fields through the
// same setters (the same parsing, normalisation and range checks).
//
// Each front end only turns its syntax into a KnobValue of the knob's kind (HCL: typed values;
// flags: strings); Knob::set does the rest and returns a reason without the key, which the front
// end prefixes with the key ("min_reported_tcb: ...") or the flag ("-min-tcb: ...").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "attestation/sevsnp/policy/policy.h"
#include "common/config_reader.h"
#include "common/flags.h"

namespace spirecvm::sevsnp::policy {

enum class KnobKind { kBool, kInt, kString, kStringList, kIntList };

// The value of one knob, in the alternative its KnobKind names (kIntList: std::vector<int64_t>).
using KnobValue = std::variant<bool, int64_t, std::string, std::vector<std::string>, std::vector<int64_t>>;

struct Knob {
  const char* key;   // HCL key inside sev_snp { policy { ... } } (= the Policy field)
  const char* flag;  // `spire-server sev verify` flag, without dashes
  KnobKind kind;     // list kinds are repeatable flags
  const char* help;
  // Sets the field from `value` (of `kind`); InvalidArgument naming the reason, not the key.
  absl::Status (*set)(const KnobValue& value, Policy& policy);
  const char* key_alias = nullptr;   // a second HCL key for the same knob (read after `key`)
  const char* flag_alias = nullptr;  // a second flag for the same knob (applied after `flag`)
};

// Every policy knob, in documentation order.
absl::Span<const Knob> PolicyKnobs();

// Sets one knob; the error names the knob by `name` ("<name>: <reason>").
absl::Status ApplyKnob(const Knob& knob, const KnobValue& value, Policy& policy, std::string_view name);

// HCL front end: reads every knob present in `section` into `policy`, then ValidatePolicy. Errors
// (wrong type, bad value, invalid policy) are recorded on `section` at the key's position.
void ReadPolicySection(config::Section& section, Policy& policy);

// Flag front end: Register() adds one flag per knob (and alias) to a FlagSet, whose defaults are
// `defaults`; after FlagSet::Parse, Apply() sets every flag given on the command line.
class PolicyFlags {
 public:
  explicit PolicyFlags(const Policy& defaults = Policy{});
  PolicyFlags(const PolicyFlags&) = delete;
  PolicyFlags& operator=(const PolicyFlags&) = delete;
  ~PolicyFlags();

  void Register(flags::FlagSet& fs);
  // One message per bad flag ("-min-tcb: TCB \"x\" must be ..."), then ValidatePolicy's message.
  std::vector<std::string> Apply(const flags::FlagSet& fs, Policy& policy) const;

 private:
  struct Slot;
  Policy defaults_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace spirecvm::sevsnp::policy
