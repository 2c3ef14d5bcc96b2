#include "agent/workload/unix_attestor.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "agent/workload/peer_registry.h"
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
  // A caller as the endpoint records it at accept (credentials and the executable's identity).
  CallerInfo Caller(pid_t pid = 42) const {
    CallerInfo c{pid, 1000, 1000, 0};
    (void)RecordExecutable(c, root_.string());
    return c;
  }
  std::filesystem::path root_;
};

// A clock that moves on by `step` at every reading: lets a test pass a timeout without waiting.
class SteppingClock final : public Clock {
 public:
  explicit SteppingClock(absl::Duration step) : step_(step) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    now_ += step_;
    return now_;
  }

 private:
  absl::Duration step_;
  mutable std::mutex mu_;
  mutable absl::Time now_ = absl::UnixEpoch();
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
  auto s = a.Attest(Caller());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:path:", (root_ / "bin").string())));
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:sha256:", HexEncode(crypto::Sha256("binary-contents")))));
}

TEST_F(UnixAttestorTest, SizeLimitRefusesLargeBinaries) {
  UnixAttestorConfig cfg;
  cfg.discover_workload_path = true;
  cfg.workload_size_limit = 3;
  UnixAttestor a(cfg, root_.string(), Names, Names);
  EXPECT_FALSE(a.Attest(Caller()).ok());
}

TEST_F(UnixAttestorTest, GoneProcessIsPermissionDenied) {
  UnixAttestor a(UnixAttestorConfig{}, root_.string(), Names, Names);
  auto s = a.Attest(CallerInfo{43, 1000, 1000, 0});
  EXPECT_TRUE(absl::IsPermissionDenied(s.status()));
  EXPECT_TRUE(absl::IsPermissionDenied(a.Attest(CallerInfo{0, 1, 1, 0}).status()));
}

TEST_F(UnixAttestorTest, RealProcessSelf) {
  UnixAttestor a(UnixAttestorConfig{true, 0});
  CallerInfo me{getpid(), getuid(), getgid(), 0};
  ASSERT_TRUE(RecordExecutable(me, "/proc").ok());
  auto s = a.Attest(me);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:uid:", getuid())));
}

// A process that connects, then execve()s a trusted binary (keeping or passing on the connection), must not get the
// trusted binary's unix:path/unix:sha256.
TEST_F(UnixAttestorTest, ExecveAfterConnectIsRefused) {
  UnixAttestorConfig cfg;
  cfg.discover_workload_path = true;
  UnixAttestor a(cfg, root_.string(), Names, Names);
  const CallerInfo at_connect = Caller();  // runs "bin"
  std::ofstream(root_ / "trusted") << "trusted-binary";
  std::filesystem::remove(root_ / "42" / "exe");
  std::filesystem::create_symlink(root_ / "trusted", root_ / "42" / "exe");  // execve("trusted")
  auto s = a.Attest(at_connect);
  EXPECT_TRUE(absl::IsPermissionDenied(s.status())) << s.status();
  EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("execve after connect"));
  // Without an executable identity from accept, path/sha256 are refused as well.
  EXPECT_TRUE(absl::IsPermissionDenied(a.Attest(CallerInfo{42, 1000, 1000, 0}).status()));
}

// The hash cache keys on ctime too: rewriting the binary in place and restoring its size and mtime must not serve
// the old hash.
TEST_F(UnixAttestorTest, HashCacheSeesRewriteWithRestoredMtime) {
  UnixAttestorConfig cfg;
  cfg.discover_workload_path = true;
  UnixAttestor a(cfg, root_.string(), Names, Names);
  const auto bin = root_ / "bin";
  struct stat before {};
  ASSERT_EQ(::stat(bin.c_str(), &before), 0);
  ASSERT_TRUE(a.Attest(Caller()).ok());
  // Wait for the kernel's coarse clock to tick, so that the rewrite below gets a new ctime.
  for (struct stat now = before;
       now.st_ctim.tv_sec == before.st_ctim.tv_sec && now.st_ctim.tv_nsec == before.st_ctim.tv_nsec;) {
    ::usleep(2000);
    ASSERT_EQ(::chmod(bin.c_str(), 0644), 0);
    ASSERT_EQ(::stat(bin.c_str(), &now), 0);
  }
  std::ofstream(bin, std::ios::in | std::ios::out) << "BINARY";  // same size, different content
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, bin.c_str(), times, 0), 0);  // the owner sets mtime back
  auto s = a.Attest(Caller());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, Contains(absl::StrCat("unix:sha256:", HexEncode(crypto::Sha256("BINARY-contents")))));
}

TEST_F(UnixAttestorTest, SlowHashingTimesOut) {
  std::ofstream(root_ / "bin", std::ios::trunc) << std::string(1 << 20, 'x');  // 16 reads of 64 KiB
  UnixAttestorConfig cfg;
  cfg.discover_workload_path = true;
  cfg.hash_timeout = absl::Seconds(5);
  SteppingClock clock(absl::Seconds(1));
  UnixAttestor a(cfg, root_.string(), Names, Names, &clock);
  auto s = a.Attest(Caller());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
  EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("hash_timeout"));
}

}  // namespace
}  // namespace spirecvm::agent
