// The admin socket's file modes, refusals, and SPIRE's placement rule.
#include "agent/adminapi/admin_socket.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace spirecvm::agent::adminapi {
namespace {

class AdminSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / absl::StrCat("adminsock-", getpid(), "-", counter_++);
    std::filesystem::create_directories(root_);
    std::filesystem::permissions(root_, std::filesystem::perms::owner_all);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static inline int counter_ = 0;
  std::filesystem::path root_;
};

TEST_F(AdminSocketTest, SocketIs0770InA0750DirectoryWhateverTheUmask) {
  const mode_t old = ::umask(0);  // a permissive umask must not widen the socket
  const std::string path = (root_ / "private" / "admin.sock").string();
  auto fd = ListenAdminSocket(path);
  ::umask(old);
  ASSERT_TRUE(fd.ok()) << fd.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0770);
  ASSERT_EQ(::stat((root_ / "private").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750);
  EXPECT_EQ(::umask(old), old);  // restored
  ::close(*fd);
}

TEST_F(AdminSocketTest, ReplacesAStaleSocketButNoOtherFile) {
  const std::string path = (root_ / "admin.sock").string();
  auto fd = ListenAdminSocket(path);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ::close(*fd);
  auto again = ListenAdminSocket(path);  // the socket file is still there
  ASSERT_TRUE(again.ok()) << again.status();
  ::close(*again);

  const std::string file = (root_ / "not-a-socket").string();
  std::ofstream(file) << "x";
  auto refused = ListenAdminSocket(file);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST_F(AdminSocketTest, RefusesAWorldWritableDirectory) {
  std::filesystem::create_directories(root_ / "open");
  std::filesystem::permissions(root_ / "open", std::filesystem::perms::all);
  auto fd = ListenAdminSocket((root_ / "open" / "admin.sock").string());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kFailedPrecondition) << fd.status();
  EXPECT_NE(fd.status().message().find("writable by group or others"), std::string::npos);
}

TEST(AdminSocketPlacementTest, NotInOrBelowTheWorkloadSocketDirectory) {
  const std::string msg =
      "admin socket cannot be in the same directory or a subdirectory as that containing the Workload API socket";
  EXPECT_EQ(
      CheckAdminSocketPlacement("/tmp/spire-agent/public/admin.sock", "/tmp/spire-agent/public/api.sock").message(),
      msg);
  EXPECT_EQ(
      CheckAdminSocketPlacement("/tmp/spire-agent/public/sub/admin.sock", "/tmp/spire-agent/public/api.sock").message(),
      msg);
  EXPECT_EQ(
      CheckAdminSocketPlacement("/tmp/spire-agent/public/../public/a.sock", "/tmp/spire-agent/public/api.sock").code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      CheckAdminSocketPlacement("/tmp/spire-agent/private/admin.sock", "/tmp/spire-agent/public/api.sock").ok());
  EXPECT_TRUE(
      CheckAdminSocketPlacement("/tmp/spire-agent/public2/admin.sock", "/tmp/spire-agent/public/api.sock").ok());
}

}  // namespace
}  // namespace spirecvm::agent::adminapi
