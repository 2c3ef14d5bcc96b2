#include "attestation/sevsnp/cli/sev_measure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attestation/sevsnp/measure/launch_digest.h"
#include "attestation/sevsnp/measure/test_ovmf.h"
#include "common/encoding.h"
#include "common/files.h"

namespace spirecvm::sevsnp::cli {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

struct CliRun {
  int code;
  std::string out, err;
};

CliRun RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunSevMeasure(args, out, err);
  return {code, out.str(), err.str()};
}

class SevMeasureCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sev-measure-cli-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    ovmf_ = (dir_ / "ovmf.fd").string();
    ASSERT_TRUE(files::WriteFileAtomic(ovmf_, measure::testing::Build({}), 0600).ok());
    kernel_ = (dir_ / "vmlinuz").string();
    ASSERT_TRUE(files::WriteFileAtomic(kernel_, "kernel bytes", 0600).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Expected(const measure::MeasureInput& in) {
    return HexEncode(*measure::LaunchDigest(*measure::Ovmf::Parse(measure::testing::Build({})), in));
  }
  fs::path dir_;
  std::string ovmf_, kernel_;
};

TEST_F(SevMeasureCliTest, PrintsTheMeasurementAndTheSelector) {
  auto r = RunCli({"--ovmf", ovmf_, "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--vmm-type", "ec2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string hex = Expected({2, 0xa00f11, 1, measure::VmmType::kEc2, std::nullopt});
  EXPECT_EQ(r.out, "measurement: " + hex + "\nselector:    aws_iid:measurements:" + hex + "\n");
}

TEST_F(SevMeasureCliTest, JsonOutputWithKernelHashes) {
  auto r = RunCli({"-ovmf", ovmf_, "-vcpus", "4", "-vcpu-type", "EPYC-Genoa", "-kernel", kernel_, "-append", "quiet",
                   "-output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const std::string hex =
      Expected({4, 0xa10f10, 1, measure::VmmType::kQemu, measure::KernelHashes{"kernel bytes", "", "quiet"}});
  EXPECT_EQ(j["measurement"], hex);
  EXPECT_EQ(j["selector"], "aws_iid:measurements:" + hex);
  EXPECT_EQ(j["kernel_hashes"], true);
}

TEST_F(SevMeasureCliTest, ListsEveryUsageError) {
  auto r = RunCli({"--vcpu-type", "Skylake", "--vmm-type", "xen", "--initrd", "x", "-output", "yaml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("-ovmf is required"));
  EXPECT_THAT(r.err, HasSubstr("-vcpus is required"));
  EXPECT_THAT(r.err, HasSubstr("vCPU type \"Skylake\""));
  EXPECT_THAT(r.err, HasSubstr("VMM type \"xen\""));
  EXPECT_THAT(r.err, HasSubstr("-initrd and -append need -kernel"));
  EXPECT_THAT(r.err, HasSubstr("-output must be pretty or json"));
  EXPECT_TRUE(r.out.empty());
}

TEST_F(SevMeasureCliTest, NamesTheImageThatLacksSevMetadata) {
  const std::string plain = (dir_ / "plain.fd").string();
  ASSERT_TRUE(files::WriteFileAtomic(plain, std::string(8192, '\0'), 0600).ok());
  auto r = RunCli({"--ovmf", plain, "--vcpus", "1", "--vcpu-sig", "0xa00f11"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(plain));
  EXPECT_THAT(r.err, HasSubstr("footer table"));
}

TEST_F(SevMeasureCliTest, VcpuSigAndVcpuTypeAreExclusive) {
  auto r = RunCli({"--ovmf", ovmf_, "--vcpus", "1", "--vcpu-sig", "0xa00f11", "--vcpu-type", "EPYC-Milan"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("exactly one of -vcpu-type and -vcpu-sig"));
  r = RunCli({"--ovmf", ovmf_, "--vcpus", "1", "--vcpu-sig", "0xa00f11"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(Expected({1, 0xa00f11, 1, measure::VmmType::kQemu, std::nullopt})));
}

}  // namespace
}  // namespace spirecvm::sevsnp::cli
