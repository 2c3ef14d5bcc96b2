#include "common/unix_socket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace spirecvm {
namespace {

using ::testing::HasSubstr;

class UnixSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short base path: sun_path is only 108 bytes.
    char buf[] = "/tmp/cvmsock.XXXXXX";
    ASSERT_NE(::mkdtemp(buf), nullptr);
    dir_ = buf;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  int BindSocket(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
    return fd;
  }
  std::string dir_;
};

TEST_F(UnixSocketTest, PeerCredOfSocketPair) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto cred = GetPeerCred(sv[0]);
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->pid, ::getpid());
  EXPECT_EQ(cred->uid, ::getuid());
  EXPECT_EQ(cred->gid, ::getgid());
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_F(UnixSocketTest, PeerCredOfNonSocketFails) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  EXPECT_FALSE(GetPeerCred(p[0]).ok());
  ::close(p[0]);
  ::close(p[1]);
}

TEST_F(UnixSocketTest, ProcessStartTimeOfSelf) {
  auto t = ProcessStartTime(::getpid());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_GT(*t, 0u);
  EXPECT_EQ(*ProcessStartTime(::getpid()), *t);
  EXPECT_EQ(ProcessStartTime(::getpid(), dir_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(UnixSocketTest, ProcessStartTimeWithHostileComm) {
  std::string pdir = dir_ + "/42";
  ASSERT_EQ(::mkdir(pdir.c_str(), 0700), 0);
  {
    std::ofstream f(pdir + "/stat");
    // comm "a) (b c) 1 2" tries to shift fields; parsing after the last ')' must still find 777.
    f << "42 (a) (b c) 1 2) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 777 1000 10 18446744073709551615\n";
  }
  auto t = ProcessStartTime(42, dir_);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, 777u);
  {
    std::ofstream f(pdir + "/stat");
    f << "42 (x) S 1 2\n";
  }
  EXPECT_EQ(ProcessStartTime(42, dir_).status().code(), absl::StatusCode::kDataLoss);
  {
    std::ofstream f(pdir + "/stat");
    f << "42 no paren\n";
  }
  EXPECT_EQ(ProcessStartTime(42, dir_).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(UnixSocketTest, PrepareCreatesDirWithMode) {
  std::string sock = dir_ + "/private/api.sock";
  ASSERT_TRUE(PrepareSocketPath(sock, 0750).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/private").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

TEST_F(UnixSocketTest, PrepareLeavesExistingDirModeAlone) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  ASSERT_TRUE(PrepareSocketPath(dir_ + "/api.sock", 0750).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST_F(UnixSocketTest, PrepareRemovesStaleSocket) {
  std::string sock = dir_ + "/api.sock";
  int fd = BindSocket(sock);
  ::close(fd);  // the file stays behind, as after a crash
  ASSERT_EQ(::access(sock.c_str(), F_OK), 0);
  ASSERT_TRUE(PrepareSocketPath(sock, 0755).ok());
  EXPECT_NE(::access(sock.c_str(), F_OK), 0);
  ::close(BindSocket(sock));  // binding now works
}

TEST_F(UnixSocketTest, PrepareRefusesToUnlinkNonSocket) {
  std::string path = dir_ + "/api.sock";
  { std::ofstream(path) << "precious"; }
  auto s = PrepareSocketPath(path, 0755);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("not a socket"));
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
  // A symlink to a socket is not a socket either.
  std::string target = dir_ + "/real.sock";
  ::close(BindSocket(target));
  std::string link = dir_ + "/link.sock";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(PrepareSocketPath(link, 0755).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(UnixSocketTest, PrepareRejectsTooLongPath) {
  auto s = PrepareSocketPath(dir_ + "/" + std::string(120, 'a'), 0755);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("too long"));
}

}  // namespace
}  // namespace spirecvm
