#include "attestation/sevsnp/cli/sev_verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "attestation/sevsnp/test_util.h"

namespace spirecvm::sevsnp::cli {
namespace {

using ::testing::HasSubstr;

constexpr char kMeasurement[] =
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";

struct CliRun {
  int code;
  std::string out, err;
};

CliRun RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunSevVerify(args, out, err);
  return {code, out.str(), err.str()};
}

class RealVectorCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(dir_ + "/snp/milan-vcek-debug/report.bin")) << "vectors missing under " << dir_;
  }
  std::vector<std::string> Base() {
    return {"--report",
            dir_ + "/snp/milan-vcek-debug/report.bin",
            "-cert",
            dir_ + "/snp/milan-vcek-debug/vcek.der",
            "--chain=" + dir_ + "/amd/ask_ark_milan_vcek.pem",
            "-at",
            "2025-01-01T00:00:00Z"};
  }
  std::string dir_ = testing::VectorsDir();
};

TEST_F(RealVectorCliTest, DefaultPolicyRejectsDebug) {
  CliRun r = RunCli(Base());
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: policy: report POLICY has DEBUG set"));
}

TEST_F(RealVectorCliTest, AllowDebugAcceptsAndJsonShowsMeasurementAndTcb) {
  auto args = Base();
  args.insert(args.end(), {"--allow-debug", "-output", "json", "--measurement", kMeasurement, "--min-tcb", "2.0.5.68"});
  CliRun r = RunCli(args);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["verified"].get<bool>());
  EXPECT_EQ(j["report"]["measurement"], kMeasurement);
  EXPECT_EQ(j["report"]["reported_tcb"]["snp"], 5);
  EXPECT_EQ(j["report"]["reported_tcb"]["ucode"], 68);
  EXPECT_EQ(j["report"]["product"], "Milan");
  EXPECT_TRUE(j["report"]["policy_flags"]["debug"].get<bool>());
}

TEST_F(RealVectorCliTest, EveryReasonListed) {
  auto args = Base();
  args.insert(args.end(), {"--measurement", std::string(96, '0'), "--min-tcb", "3.0.5.68"});
  CliRun r = RunCli(args);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("DEBUG"));
  EXPECT_THAT(r.err, HasSubstr("not in allowed_measurements"));
  EXPECT_THAT(r.err, HasSubstr("REPORTED_TCB"));
}

TEST_F(RealVectorCliTest, AmdCertsDirAndWrongReportData) {
  CliRun r = RunCli({"-report", dir_ + "/snp/milan-vcek-debug/report.bin", "-cert",
                     dir_ + "/snp/milan-vcek-debug/vcek.der", "-amd-certs-dir", dir_ + "/amd", "-product", "Milan",
                     "-at", "2025-01-01T00:00:00Z", "-allow-debug", "-report-data", std::string(128, '0')});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("REPORT_DATA does not equal"));
}

TEST_F(RealVectorCliTest, OutsideValidity) {
  auto args = Base();
  args[5] = "-at=2031-01-01T00:00:00Z";
  args.erase(args.begin() + 6);
  CliRun r = RunCli(args);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("has expired"));
}

TEST(CliTest, UsageErrors) {
  CliRun r = RunCli({});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("-report is required"));
  r = RunCli({"-report", "/nonexistent", "-at", "yesterday", "-min-tcb", "1.2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot read"));
  EXPECT_THAT(r.err, HasSubstr("not RFC 3339"));
  EXPECT_THAT(r.err, HasSubstr("-min-tcb"));
  r = RunCli({"-bogus"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("flag provided but not defined"));
}

TEST(CliTest, SimulatedReportWithInsecureExtraRoot) {
  const std::string dir = ::testing::TempDir() + "/sevsnp_cli_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  sim::SignerOptions o;
  o.rsa_bits = 2048;
  auto s = sim::TestOnlyAmdSigner::CreateOrLoad(dir, o);
  ASSERT_TRUE(s.ok()) << s.status();
  auto report = (*s)->SignReport((*s)->DefaultReport(), abi::SigningKey::kVlek);
  std::ofstream(dir + "/report.bin", std::ios::binary) << *report;
  std::vector<std::string> args = {"-report", dir + "/report.bin",   "-certs-table", dir + "/cert_table_vlek.bin",
                                   "-at",     "2025-01-01T00:00:00Z"};
  CliRun untrusted = RunCli(args);
  EXPECT_EQ(untrusted.code, 1);
  EXPECT_THAT(untrusted.err, HasSubstr("not a pinned AMD ARK"));
  args.insert(args.end(), {"-insecure-extra-roots", dir + "/ark.pem", "-csp-id", (*s)->csp_id()});
  CliRun trusted = RunCli(args);
  EXPECT_EQ(trusted.code, 0) << trusted.err;
  EXPECT_THAT(trusted.err, HasSubstr("WARNING"));
  EXPECT_THAT(trusted.out, HasSubstr("VLEK (chains to an INSECURE extra root)"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::sevsnp::cli
