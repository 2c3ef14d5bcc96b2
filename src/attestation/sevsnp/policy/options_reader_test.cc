#include "attestation/sevsnp/policy/options_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/hcl.h"

namespace spirecvm::sevsnp::policy {
namespace {

using ::testing::HasSubstr;

struct Read {
  Policy policy;
  std::string errors;  // empty: no error
};

Read FromHcl(const std::string& text) {
  auto body = hcl::Parse(text, "t.conf");
  EXPECT_TRUE(body.ok()) << body.status() << "\n" << text;
  if (!body.ok()) return {};
  auto section = config::Section::FromBody(*body, "policy", "t.conf");
  Read r;
  ReadPolicySection(section, r.policy);
  absl::Status st = section.Finish();
  if (!st.ok()) r.errors = std::string(st.message());
  return r;
}

Read FromFlags(const std::vector<std::string>& args) {
  flags::FlagSet fs("sev verify");
  PolicyFlags policy_flags;
  policy_flags.Register(fs);
  auto rest = fs.Parse(args);
  EXPECT_TRUE(rest.ok()) << rest.status();
  Read r;
  r.errors = absl::StrJoin(policy_flags.Apply(fs, r.policy), "\n");
  return r;
}

// One valid, non-default value per knob: as HCL text, and as the flag's values (repeated for lists).
struct Sample {
  std::string hcl;
  std::vector<std::string> flag_values;
};

const std::string kHex96 = std::string(94, 'A') + "0b";
const std::string kHex64 = std::string(64, 'C');
const std::string kHex128 = std::string(128, 'D');

const std::map<std::string, Sample>& Samples() {
  static const auto* samples = new std::map<std::string, Sample>{
      {"allow_debug", {"true", {"true"}}},
      {"allow_migration_agent", {"true", {"true"}}},
      {"allow_smt", {"false", {"false"}}},
      {"vmpl", {"2", {"2"}}},
      {"max_vmpl", {"3", {"3"}}},
      {"min_guest_svn", {"7", {"7"}}},
      {"min_reported_tcb", {"\"3.0.8.115\"", {"3.0.8.115"}}},
      {"min_current_tcb", {"\"3.0.9.115\"", {"3.0.9.115"}}},
      {"min_committed_tcb", {"\"3.0.7.115.2\"", {"3.0.7.115.2"}}},
      {"min_launch_tcb", {"\"1.0.1.1\"", {"1.0.1.1"}}},
      {"min_current_firmware", {"\"1.55.21\"", {"1.55.21"}}},
      {"min_committed_firmware", {"\"1.55.20\"", {"1.55.20"}}},
      {"require_committed_equals_current", {"true", {"true"}}},
      {"allowed_measurements",
       {"[\"" + kHex96 + "\", \"" + std::string(96, 'e') + "\"]", {kHex96, std::string(96, 'e')}}},
      {"allowed_host_data", {"[\"" + kHex64 + "\"]", {kHex64}}},
      {"report_data", {"\"" + kHex128 + "\"", {kHex128}}},
      {"allowed_id_key_digests", {"[\"" + kHex96 + "\"]", {kHex96}}},
      {"allowed_report_versions", {"[3, 5]", {"3", "5"}}},
      {"allowed_signing_keys", {"[\"vlek\"]", {"vlek"}}},
      {"required_platform_flags", {"[\"SMT_EN\", \"tsme_en\"]", {"SMT_EN", "tsme_en"}}},
      {"allowed_csp_ids", {"[\"CN=cc-eu-west-1.amazonaws.com\"]", {"CN=cc-eu-west-1.amazonaws.com"}}},
  };
  return *samples;
}

std::vector<std::string> FlagArgs(const std::string& flag, const std::vector<std::string>& values) {
  std::vector<std::string> args;
  for (const auto& v : values) args.push_back(absl::StrCat("-", flag, "=", v));
  return args;
}

TEST(PolicyKnobsTest, EveryKnobHasASampleAndUniqueNames) {
  std::set<std::string> keys, flag_names;
  for (const Knob& k : PolicyKnobs()) {
    EXPECT_TRUE(Samples().count(k.key)) << "no sample for knob " << k.key;
    EXPECT_TRUE(keys.insert(k.key).second) << k.key;
    EXPECT_TRUE(flag_names.insert(k.flag).second) << k.flag;
    if (k.key_alias != nullptr) {
      EXPECT_TRUE(keys.insert(k.key_alias).second) << k.key_alias;
    }
    if (k.flag_alias != nullptr) {
      EXPECT_TRUE(flag_names.insert(k.flag_alias).second) << k.flag_alias;
    }
  }
  EXPECT_EQ(Samples().size(), PolicyKnobs().size());
}

// Every knob, set through HCL and through flags, gives the same Policy, different from the default.
TEST(PolicyKnobsTest, BothFrontEndsSetTheSameOptions) {
  for (const Knob& k : PolicyKnobs()) {
    SCOPED_TRACE(k.key);
    const Sample& s = Samples().at(k.key);
    Read hcl = FromHcl(absl::StrCat(k.key, " = ", s.hcl, "\n"));
    Read flag = FromFlags(FlagArgs(k.flag, s.flag_values));
    EXPECT_EQ(hcl.errors, "");
    EXPECT_EQ(flag.errors, "");
    EXPECT_TRUE(hcl.policy == flag.policy);
    EXPECT_FALSE(hcl.policy == Policy{}) << "knob " << k.key << " changed nothing";
    if (k.key_alias != nullptr) {
      EXPECT_TRUE(FromHcl(absl::StrCat(k.key_alias, " = ", s.hcl, "\n")).policy == hcl.policy);
      EXPECT_TRUE(FromFlags(FlagArgs(k.flag_alias, s.flag_values)).policy == hcl.policy);
    }
  }
}

TEST(PolicyKnobsTest, AllKnobsAtOnceAgree) {
  std::string text;
  std::vector<std::string> args;
  for (const Knob& k : PolicyKnobs()) {
    absl::StrAppend(&text, k.key, " = ", Samples().at(k.key).hcl, "\n");
    for (auto& a : FlagArgs(k.flag, Samples().at(k.key).flag_values)) args.push_back(a);
  }
  Read hcl = FromHcl(text);
  Read flag = FromFlags(args);
  EXPECT_EQ(hcl.errors, "");
  EXPECT_EQ(flag.errors, "");
  EXPECT_TRUE(hcl.policy == flag.policy);
  EXPECT_EQ(hcl.policy.allowed_measurements[0], absl::AsciiStrToLower(kHex96));
  EXPECT_EQ(hcl.policy.allowed_signing_keys, std::vector<std::string>{"VLEK"});
  EXPECT_EQ(hcl.policy.allowed_report_versions, (std::vector<uint32_t>{3, 5}));
  ASSERT_TRUE(hcl.policy.min_committed_tcb.has_value());
  EXPECT_EQ(hcl.policy.min_committed_tcb->fmc, 2);
}

// A value each knob's setter refuses, with the reason both front ends must report.
TEST(PolicyKnobsTest, BadValuesNameTheKeyOrFlagAndTheReason) {
  struct Bad {
    std::string key, flag, hcl, flag_value, reason;
  };
  const std::vector<Bad> bad = {
      {"vmpl", "vmpl", "4", "4", "must be 0..3, got 4"},
      {"max_vmpl", "max-vmpl", "9", "9", "must be 0..3, got 9"},
      {"min_guest_svn", "min-guest-svn", "-1", "-1", "must be 0..4294967295, got -1"},
      {"min_reported_tcb", "min-reported-tcb", "\"1.2\"", "1.2", "must be bl.tee.snp.ucode"},
      {"min_tcb", "min-tcb", "\"1.2.3.256\"", "1.2.3.256", "is not 0..255"},
      {"min_current_firmware", "min-current-firmware", "\"1.2\"", "1.2", "must be major.minor.build"},
      {"allowed_report_versions", "report-version", "[256]", "256", "must be 0..255, got 256"},
      {"allowed_measurements", "measurement", "[\"zz\"]", "zz", "\"zz\" is not 96 hex characters"},
      {"required_platform_flags", "require-platform-flag", "[\"NOPE\"]", "NOPE", "unknown PLATFORM_INFO flag"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.key);
    Read hcl = FromHcl(absl::StrCat(b.key, " = ", b.hcl, "\n"));
    Read flag = FromFlags({absl::StrCat("-", b.flag, "=", b.flag_value)});
    EXPECT_THAT(hcl.errors, HasSubstr(b.key));
    EXPECT_THAT(hcl.errors, HasSubstr(b.reason));
    EXPECT_THAT(flag.errors, HasSubstr(b.reason));
    EXPECT_TRUE(flag.errors.find("-" + b.flag + ":") != std::string::npos ||
                flag.errors.find(b.key + ":") != std::string::npos)
        << flag.errors;
  }
}

TEST(PolicyKnobsTest, FrontEndSyntaxErrors) {
  EXPECT_THAT(FromHcl("allowed_report_versions = 3\n").errors, HasSubstr("want a list of numbers"));
  EXPECT_THAT(FromHcl("allowed_report_versions = [2.5]\n").errors, HasSubstr("whole number"));
  EXPECT_THAT(FromHcl("allow_debug = \"yes\"\n").errors, HasSubstr("allow_debug"));
  EXPECT_THAT(FromFlags({"-report-version=two"}).errors, HasSubstr("-report-version: \"two\" is not a whole number"));
}

TEST(PolicyKnobsTest, UnsetFlagsKeepTheDefaults) {
  Read r = FromFlags({});
  EXPECT_EQ(r.errors, "");
  EXPECT_TRUE(r.policy == Policy{});
  Read h = FromHcl("");
  EXPECT_TRUE(h.policy == Policy{});
}

}  // namespace
}  // namespace spirecvm::sevsnp::policy
