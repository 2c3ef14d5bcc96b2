// Agreement with the reference implementation, sev-snp-measure (PyPI), installed into the interop peers' venv by
// scripts/build-peers.sh. Runs every combination of vCPU count, vCPU type, VMM type and kernel hashes on Debian's
// OVMF image (package `ovmf`, which carries the SEV metadata but no kernel hashes section) and on synthetic images
// that carry a kernel hashes section. Skips in one line when the tool or the image is absent.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/measure/launch_digest.h"
#include "attestation/sevsnp/measure/test_ovmf.h"
#include "common/encoding.h"
#include "common/files.h"

namespace spirecvm::sevsnp::measure {
namespace {

namespace fs = std::filesystem;

std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// The reference tool's path, or "" with `why` set.
std::string ReferenceTool(std::string& why) {
  if (const char* t = std::getenv("SPIRECVM_SEV_SNP_MEASURE")) return t;
  int rc = 0;
  std::string dir = Shell(absl::StrCat(SPIRECVM_SOURCE_DIR, "/scripts/build-peers.sh python 2>/dev/null"), &rc);
  absl::StripAsciiWhitespace(&dir);
  const std::string tool = dir + "/venv/bin/sev-snp-measure";
  if (rc != 0 || !fs::exists(tool)) {
    why = "sev-snp-measure (PyPI) is not available (build-peers.sh python exit " + std::to_string(rc) + ")";
    return "";
  }
  return tool;
}

class AgreementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    tool_ = ReferenceTool(why);
    if (tool_.empty()) GTEST_SKIP() << why;
    dir_ = fs::temp_directory_path() / ("sev-measure-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    std::string k(300000, '\0'), i(70000, '\0');
    for (size_t n = 0; n < k.size(); ++n) k[n] = static_cast<char>(n * 7 + 1);
    for (size_t n = 0; n < i.size(); ++n) i[n] = static_cast<char>(n * 13 + 5);
    ASSERT_TRUE(files::WriteFileAtomic((dir_ / "kernel").string(), k, 0600).ok());
    ASSERT_TRUE(files::WriteFileAtomic((dir_ / "initrd").string(), i, 0600).ok());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Compares one combination; `kernel` adds -kernel/-initrd/-append.
  void Check(const std::string& ovmf_path, int vcpus, const std::string& type, const std::string& vmm, bool kernel) {
    SCOPED_TRACE(absl::StrCat(ovmf_path, " vcpus=", vcpus, " type=", type, " vmm=", vmm, " kernel=", kernel));
    std::string cmd = absl::StrCat(tool_, " --mode snp --ovmf ", ovmf_path, " --vcpus ", vcpus, " --vcpu-type ", type,
                                   " --vmm-type ", vmm);
    MeasureInput in{static_cast<uint32_t>(vcpus), *VcpuSignature(type), 0x1, *ParseVmmType(vmm), std::nullopt};
    if (kernel) {
      absl::StrAppend(&cmd, " --kernel ", (dir_ / "kernel").string(), " --initrd ", (dir_ / "initrd").string(),
                      " --append 'console=ttyS0 root=/dev/vda1'");
      in.kernel = KernelHashes{*files::ReadFile((dir_ / "kernel").string()),
                               *files::ReadFile((dir_ / "initrd").string()), "console=ttyS0 root=/dev/vda1"};
    }
    int rc = 0;
    std::string want = Shell(cmd + " 2>&1", &rc);
    absl::StripAsciiWhitespace(&want);
    ASSERT_EQ(rc, 0) << want;
    auto ovmf = Ovmf::Parse(*files::ReadFile(ovmf_path));
    ASSERT_TRUE(ovmf.ok()) << ovmf.status();
    auto got = LaunchDigest(*ovmf, in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(HexEncode(*got), want);
    ++checked_;
  }

  std::string tool_;
  fs::path dir_;
  int checked_ = 0;
};

const char* kVmms[] = {"ec2", "QEMU"};
const char* kTypes[] = {"EPYC-v4", "EPYC-Milan", "EPYC-Genoa", "EPYC-Rome"};

TEST_F(AgreementTest, DebianOvmfWithoutKernelHashes) {
  const char* image = "/usr/share/ovmf/OVMF.fd";
  if (!fs::exists(image)) GTEST_SKIP() << image << " is absent (Debian package ovmf)";
  for (int vcpus : {1, 2, 4, 16}) {
    for (const char* type : kTypes) {
      for (const char* vmm : kVmms) Check(image, vcpus, type, vmm, false);
    }
  }
  EXPECT_EQ(checked_, 32);
}

TEST_F(AgreementTest, SyntheticOvmfWithAndWithoutKernelHashes) {
  testing::SyntheticOvmf s;
  s.sections.push_back({0x810000, 0x2000, SectionType::kSvsmCaa});
  const std::string image = (dir_ / "synthetic.fd").string();
  ASSERT_TRUE(files::WriteFileAtomic(image, testing::Build(s), 0600).ok());
  for (int vcpus : {1, 3, 8}) {
    for (const char* type : {"EPYC-Milan", "EPYC-Genoa"}) {
      for (const char* vmm : kVmms) {
        Check(image, vcpus, type, vmm, false);
        Check(image, vcpus, type, vmm, true);
      }
    }
  }
  EXPECT_EQ(checked_, 24);
}

}  // namespace
}  // namespace spirecvm::sevsnp::measure
