#include "agent/workload/unix_attestor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "crypto/keys.h"

namespace spirecvm::agent {
namespace {

using ::testing::Contains;
using ::testing::Not;

class UnixAttestorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / absl::StrCat("proc-", getpid());
    std::filesystem::create_directories(root_ / "42");
    std::ofstream(root_ / "42" / "status") << "Name:\tw\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 27 1000 \n";
    std::ofstream(root_ / "bin") << "binary-contents";
    std::filesystem::create_symlink(root_ / "bin", root_ / "42" / "exe");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static std::optional<std::string> Names(uint32_t id) {
    if (id == 1000) return std::string("alice");
    if (id == 4) return std::string("adm");
    return std::nullopt;
  }
  std::filesystem::path root_;
};

TEST_F(UnixAttestorTest, UidGidNamesAndSupplementaryGroups) {
  UnixAttestor a(UnixAttestorConfig{}, root_.string(), Names, Names);
  auto s = a.Attest(CallerInfo{42, 1000, 1000, 0});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, Contains("unix:uid:1000"));
  EXPECT_THAT(*s, Contains("unix:user:alice"));
  EXPECT_THAT(*s, Contains("unix:gid:1000"));
  EXPECT_THAT(*s, Contains("unix:group:alice"));
  EXPECT_THAT(*s, Contains("unix:supplementary_gid:4"));
  EXPECT_THAT(*s, Contains("unix:supplementary_group:adm"));
  EXPECT_THAT(*s, Contains("unix:supplementary_gid:27"));
  EXPECT_THAT(*s, Not(Contains(::testing::StartsWith("unix:path:"))));
}

TEST_F(UnixAttestorTest, PathAndSha256WhenDiscovering) {
  UnixAttestorConfig cfg;
  cfg.discover_workload_path = true;
  UnixAttestor a(cfg, root_.string(), Names, Names);
  auto s = a.Attest(CallerInfo{42, 1000, 1000, 0});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:path:", (root_ / "bin").string())));
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:sha256:", HexEncode(crypto::Sha256("binary-contents")))));
}

TEST_F(UnixAttestorTest, SizeLimitRefusesLargeBinaries) {
  UnixAttestorConfig cfg;
  cfg.discover_workload_path = true;
  cfg.workload_size_limit = 3;
  UnixAttestor a(cfg, root_.string(), Names, Names);
  EXPECT_FALSE(a.Attest(CallerInfo{42, 1000, 1000, 0}).ok());
}

TEST_F(UnixAttestorTest, GoneProcessIsPermissionDenied) {
  UnixAttestor a(UnixAttestorConfig{}, root_.string(), Names, Names);
  auto s = a.Attest(CallerInfo{43, 1000, 1000, 0});
  EXPECT_TRUE(absl::IsPermissionDenied(s.status()));
  EXPECT_TRUE(absl::IsPermissionDenied(a.Attest(CallerInfo{0, 1, 1, 0}).status()));
}

TEST_F(UnixAttestorTest, RealProcessSelf) {
  UnixAttestor a(UnixAttestorConfig{true, 0});
  auto s = a.Attest(CallerInfo{getpid(), getuid(), getgid(), 0});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:uid:", getuid())));
}

}  // namespace
}  // namespace spirecvm::agent
