#include "attestation/sevsnp/policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "attestation/sevsnp/sim/test_signers.h"

namespace spirecvm::sevsnp::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time k2025 = absl::FromUnixSeconds(1735689600);

class PolicyTest : public ::testing::Test {
 protected:
  // Verifies a report signed by the test signer (policy only ever sees verified reports).
  verify::VerifiedReport Verified(const abi::Report& fields, abi::SigningKey kind = abi::SigningKey::kVcek) {
    verify::VerifierOptions o;
    EXPECT_TRUE(certs::AddInsecureExtraRootsPem(s_.ArkPem(), o.trust).ok());
    auto verifier = verify::Verifier::Create(o);
    verify::VerifyRequest r;
    r.report = *s_.SignReport(fields, kind);
    r.cert_table = s_.CertTable(kind);
    r.now = k2025;
    auto v = (*verifier)->Verify(r);
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }
  sim::TestOnlyAmdSigner& s_ = sim::SharedTestSigner(abi::Product::kMilan);
};

TEST_F(PolicyTest, DefaultPolicyAcceptsAPlainReport) {
  EXPECT_THAT(Violations(Verified(s_.DefaultReport()), Policy{}), IsEmpty());
  EXPECT_TRUE(ValidatePolicy(Policy{}).ok());
}

// Over 60 lines: a table with one row per policy rule; splitting it would scatter the table.
TEST_F(PolicyTest, EachRuleReportsItsViolation) {
  const std::string m(96, 'a');
  struct Case {
    const char* name;
    std::function<void(abi::Report&)> report;
    std::function<void(Policy&)> policy;
    const char* want;
  } cases[] = {
      {"debug", [](abi::Report& r) { r.policy |= abi::policy_bit::kDebug; }, [](Policy&) {}, "DEBUG set"},
      {"migration agent", [](abi::Report& r) { r.policy |= abi::policy_bit::kMigrateMa; }, [](Policy&) {},
       "MIGRATE_MA"},
      {"smt", [](abi::Report&) {}, [](Policy& p) { p.allow_smt = false; }, "SMT allowed"},
      {"max vmpl", [](abi::Report& r) { r.vmpl = 2; }, [](Policy&) {}, "VMPL is 2, above max_vmpl 0"},
      {"exact vmpl", [](abi::Report& r) { r.vmpl = 1; },
       [](Policy& p) {
         p.max_vmpl = 3;
         p.vmpl = 2;
       },
       "VMPL is 1, want exactly 2"},
      {"guest svn", [](abi::Report&) {}, [](Policy& p) { p.min_guest_svn = 1; }, "GUEST_SVN is 0"},
      {"min reported tcb", [](abi::Report&) {},
       [](Policy& p) { p.min_reported_tcb = abi::Tcb{.fmc = 0, .bl = 3, .tee = 0, .snp = 9, .ucode = 0}; },
       "REPORTED_TCB (bl=3 tee=0 snp=8 ucode=115) is below the minimum"},
      {"min current tcb", [](abi::Report&) {},
       [](Policy& p) { p.min_current_tcb = abi::Tcb{.fmc = 0, .bl = 4, .tee = 0, .snp = 0, .ucode = 0}; },
       "CURRENT_TCB"},
      {"min committed tcb", [](abi::Report&) {},
       [](Policy& p) { p.min_committed_tcb = abi::Tcb{.fmc = 0, .bl = 0, .tee = 1, .snp = 0, .ucode = 0}; },
       "COMMITTED_TCB"},
      {"min launch tcb", [](abi::Report&) {},
       [](Policy& p) { p.min_launch_tcb = abi::Tcb{.fmc = 0, .bl = 0, .tee = 0, .snp = 0, .ucode = 200}; },
       "LAUNCH_TCB"},
      {"min current firmware", [](abi::Report&) {},
       [](Policy& p) {
         p.min_current_firmware = FirmwareVersion{1, 56, 0};
       },
       "CURRENT firmware 1.55.21"},
      {"min committed firmware", [](abi::Report&) {},
       [](Policy& p) {
         p.min_committed_firmware = FirmwareVersion{2, 0, 0};
       },
       "COMMITTED firmware 1.55.21"},
      {"committed == current", [](abi::Report& r) { r.committed_build = 20; },
       [](Policy& p) { p.require_committed_equals_current = true; }, "differs from CURRENT"},
      {"measurement", [](abi::Report&) {}, [m](Policy& p) { p.allowed_measurements = {m}; },
       "not in allowed_measurements"},
      {"host data", [](abi::Report&) {}, [](Policy& p) { p.allowed_host_data = {std::string(64, 'b')}; },
       "not in allowed_host_data"},
      {"report data", [](abi::Report&) {}, [](Policy& p) { p.report_data = std::string(128, 'c'); },
       "does not equal report_data"},
      {"id key digest", [](abi::Report&) {}, [m](Policy& p) { p.allowed_id_key_digests = {m}; }, "ID_KEY_DIGEST"},
      {"report version", [](abi::Report&) {}, [](Policy& p) { p.allowed_report_versions = {5}; },
       "VERSION is 3, not in allowed_report_versions [5]"},
      {"signing key", [](abi::Report&) {}, [](Policy& p) { p.allowed_signing_keys = {"VLEK"}; },
       "SIGNING_KEY is VCEK, not in allowed_signing_keys"},
      {"platform flag", [](abi::Report&) {}, [](Policy& p) { p.required_platform_flags = {"ALIAS_CHECK_COMPLETE"}; },
       "lacks required flag ALIAS_CHECK_COMPLETE"},
      {"csp id on vcek", [](abi::Report&) {}, [](Policy& p) { p.allowed_csp_ids = {"CN=x"}; }, "report is VCEK-signed"},
  };
  for (const auto& c : cases) {
    abi::Report fields = s_.DefaultReport();
    c.report(fields);
    Policy p;
    c.policy(p);
    ASSERT_TRUE(ValidatePolicy(p).ok()) << c.name << ": " << ValidatePolicy(p);
    auto v = Violations(Verified(fields), p);
    ASSERT_THAT(v, SizeIs(1)) << c.name;
    EXPECT_THAT(v[0], HasSubstr(c.want)) << c.name;
    EXPECT_EQ(Evaluate(Verified(fields), p).code(), absl::StatusCode::kPermissionDenied) << c.name;
  }
}

// Each check runs alone: it reports the violations of its own rules and nothing of the others'.
TEST_F(PolicyTest, EachCheckRefusesOnlyItsOwnRules) {
  using Check = std::vector<std::string> (*)(const verify::VerifiedReport&, const Policy&);
  const Check checks[] = {GuestPolicyViolations, TcbViolations, IdentityViolations, PlatformViolations};
  abi::Report fields = s_.DefaultReport();
  fields.policy |= abi::policy_bit::kDebug;  // guest policy
  fields.committed_build = 20;               // TCB / firmware
  const verify::VerifiedReport v = Verified(fields);
  Policy p;
  p.require_committed_equals_current = true;
  p.allowed_host_data = {std::string(64, 'b')};  // identity
  p.allowed_signing_keys = {"VLEK"};             // platform
  const char* want[] = {"DEBUG set", "COMMITTED firmware 1.55.20 differs", "HOST_DATA", "SIGNING_KEY is VCEK"};
  Policy lenient;
  lenient.allow_debug = true;
  for (size_t i = 0; i < 4; ++i) {
    auto out = checks[i](v, p);
    ASSERT_THAT(out, SizeIs(1)) << i;
    EXPECT_THAT(out[0], HasSubstr(want[i]));
    EXPECT_THAT(checks[i](v, lenient), IsEmpty()) << i;
  }
  EXPECT_THAT(Violations(v, p), SizeIs(4));
}

TEST_F(PolicyTest, AllViolationsAtOnce) {
  abi::Report fields = s_.DefaultReport();
  fields.policy |= abi::policy_bit::kDebug | abi::policy_bit::kMigrateMa;
  fields.vmpl = 3;
  Policy p;
  p.allowed_measurements = {std::string(96, 'f')};
  auto v = Violations(Verified(fields), p);
  EXPECT_THAT(v, SizeIs(4));
  auto st = Evaluate(Verified(fields), p);
  EXPECT_THAT(st.message(), HasSubstr("DEBUG"));
  EXPECT_THAT(st.message(), HasSubstr("MIGRATE_MA"));
  EXPECT_THAT(st.message(), HasSubstr("VMPL is 3"));
  EXPECT_THAT(st.message(), HasSubstr("MEASUREMENT"));
}

TEST_F(PolicyTest, KnobsAccept) {
  abi::Report fields = s_.DefaultReport();
  fields.policy |= abi::policy_bit::kDebug | abi::policy_bit::kMigrateMa;
  fields.platform_info |= abi::platform_bit::kAliasCheckComplete;
  fields.vmpl = 1;
  fields.measurement.fill(0xAB);
  Policy p;
  p.allow_debug = true;
  p.allow_migration_agent = true;
  p.max_vmpl = 1;
  std::string upper;  // allow-list entries are compared case-insensitively
  for (int i = 0; i < 48; ++i) upper += "AB";
  p.allowed_measurements = {std::string(96, 'b'), upper};
  p.required_platform_flags = {"alias_check_complete", "SMT_EN"};
  p.min_reported_tcb = *ParseTcb("3.0.8.115");
  p.min_current_firmware = *ParseFirmwareVersion("1.55.21");
  EXPECT_THAT(Violations(Verified(fields), p), IsEmpty());
}

TEST_F(PolicyTest, CspIdAllowList) {
  Policy p;
  p.allowed_csp_ids = {s_.csp_id()};
  auto v = Verified(s_.DefaultReport(), abi::SigningKey::kVlek);
  EXPECT_THAT(Violations(v, p), IsEmpty());
  p.allowed_csp_ids = {"CN=cc-eu-west-1.amazonaws.com"};
  auto out = Violations(v, p);
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_THAT(out[0], HasSubstr("csp_id \"" + s_.csp_id() + "\" is not in allowed_csp_ids"));
}

TEST(PolicyConfigTest, ValidateReportsEveryError) {
  Policy p;
  p.allowed_measurements = {"xyz"};
  p.allowed_host_data = {"00"};
  p.allowed_signing_keys = {"VCEK", "ARK"};
  p.required_platform_flags = {"NOPE"};
  auto st = ValidatePolicy(p);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("allowed_measurements"));
  EXPECT_THAT(st.message(), HasSubstr("allowed_host_data"));
  EXPECT_THAT(st.message(), HasSubstr("\"ARK\""));
  EXPECT_THAT(st.message(), HasSubstr("NOPE"));
}

TEST(PolicyConfigTest, ParseTcb) {
  EXPECT_EQ(*ParseTcb("2.0.5.68"), (abi::Tcb{.fmc = 0, .bl = 2, .tee = 0, .snp = 5, .ucode = 68}));
  EXPECT_EQ(ParseTcb("2.0.5.68.1")->fmc, 1);
  EXPECT_FALSE(ParseTcb("2.0.5").ok());
  EXPECT_FALSE(ParseTcb("2.0.5.256").ok());
  EXPECT_FALSE(ParseTcb("a.b.c.d").ok());
}

}  // namespace
}  // namespace spirecvm::sevsnp::policy
