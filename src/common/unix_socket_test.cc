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

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(UnixSocketTest, ListenCreatesDirAndSocketWithModes) {
  std::string sock = dir_ + "/private/api.sock";
  auto fd = ListenUnixSocket(sock, {.dir_mode = 0750, .socket_mode = 0770});
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(ModeOf(dir_ + "/private"), 0750u);
  EXPECT_EQ(ModeOf(sock), 0770u);
  ::close(*fd);
  auto open = ListenUnixSocket(dir_ + "/public/api.sock", {.dir_mode = 0755, .socket_mode = 0777});
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(ModeOf(dir_ + "/public"), 0755u);
  EXPECT_EQ(ModeOf(dir_ + "/public/api.sock"), 0777u);
  ::close(*open);
}

TEST_F(UnixSocketTest, ExistingDirKeepsItsMode) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  ASSERT_TRUE(UnixSocketDir::Open(dir_ + "/api.sock", {.dir_mode = 0750}).ok());
  EXPECT_EQ(ModeOf(dir_), 0711u);
}

TEST_F(UnixSocketTest, RefusesPreCreatedWorldOrGroupWritableDir) {
  for (mode_t mode : {0777, 01777, 0770}) {
    ASSERT_EQ(::chmod(dir_.c_str(), mode), 0);
    auto s = UnixSocketDir::Open(dir_ + "/api.sock", {});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_THAT(s.status().message(), HasSubstr("writable by group or others"));
    EXPECT_THAT(s.status().message(), HasSubstr(dir_));
  }
}

TEST_F(UnixSocketTest, RefusesDirOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  auto s = UnixSocketDir::Open(dir_ + "/api.sock", {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("owned by uid 65534"));
}

TEST_F(UnixSocketTest, RefusesSymlinkedDir) {
  ASSERT_EQ(::mkdir((dir_ + "/real").c_str(), 0700), 0);
  ASSERT_EQ(::symlink((dir_ + "/real").c_str(), (dir_ + "/link").c_str()), 0);
  auto s = UnixSocketDir::Open(dir_ + "/link/api.sock", {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("symlink"));
}

// The path is checked, then the directory is swapped for a symlink to an attacker's directory before bind: the
// socket must still land in the directory that was checked, and its mode must not be applied through the link.
TEST_F(UnixSocketTest, SymlinkSwapAfterCheckDoesNotRedirectBind) {
  const std::string checked = dir_ + "/sock", moved = dir_ + "/moved", evil = dir_ + "/evil";
  ASSERT_EQ(::mkdir(checked.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir(evil.c_str(), 0777), 0);
  auto held = UnixSocketDir::Open(checked + "/api.sock", {.socket_mode = 0770});
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(::rename(checked.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::symlink(evil.c_str(), checked.c_str()), 0);
  int fd = BindSocket((*held)->bind_path());
  ASSERT_TRUE((*held)->SetSocketMode().ok());
  EXPECT_NE(::access((evil + "/api.sock").c_str(), F_OK), 0) << "socket followed the swapped symlink";
  EXPECT_EQ(ModeOf(moved + "/api.sock"), 0770u);
  ::close(fd);
}

TEST_F(UnixSocketTest, SetSocketModeRefusesSwappedInSymlink) {
  auto held = UnixSocketDir::Open(dir_ + "/api.sock", {.socket_mode = 0777});
  ASSERT_TRUE(held.ok()) << held.status();
  std::string target = dir_ + "/secret";
  { std::ofstream(target) << "x"; }
  ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
  ASSERT_EQ(::symlink(target.c_str(), (dir_ + "/api.sock").c_str()), 0);
  EXPECT_FALSE((*held)->SetSocketMode().ok());
  EXPECT_EQ(ModeOf(target), 0600u);
}

TEST_F(UnixSocketTest, RemovesStaleSocket) {
  std::string sock = dir_ + "/api.sock";
  int fd = BindSocket(sock);
  ::close(fd);  // the file stays behind, as after a crash
  ASSERT_EQ(::access(sock.c_str(), F_OK), 0);
  auto listen = ListenUnixSocket(sock, {});
  ASSERT_TRUE(listen.ok()) << listen.status();
  ::close(*listen);
}

TEST_F(UnixSocketTest, RefusesToUnlinkNonSocket) {
  std::string path = dir_ + "/api.sock";
  { std::ofstream(path) << "precious"; }
  auto s = UnixSocketDir::Open(path, {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr(path));
  EXPECT_THAT(s.status().message(), HasSubstr("not a socket"));
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
  // A symlink to a socket is not a socket either.
  std::string target = dir_ + "/real.sock";
  ::close(BindSocket(target));
  std::string link = dir_ + "/link.sock";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(UnixSocketDir::Open(link, {}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(UnixSocketTest, RejectsTooLongPath) {
  auto s = UnixSocketDir::Open(dir_ + "/" + std::string(120, 'a'), {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("too long"));
}

}  // namespace
}  // namespace spirecvm
