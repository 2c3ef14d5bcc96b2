#include "common/files.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace spirecvm::files {
namespace {

using ::testing::HasSubstr;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/files_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  std::vector<std::string> List() {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir_.c_str());
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
  }
  mode_t Mode(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  std::string dir_;
};

TEST_F(FilesTest, ReadMissingNamesPathAndErrno) {
  auto r = ReadFile(dir_ + "/nope");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr(dir_ + "/nope"));
  EXPECT_THAT(r.status().message(), HasSubstr("No such file or directory"));
}

TEST_F(FilesTest, WriteAtomicCreatesAndReplaces) {
  std::string p = dir_ + "/keys.json";
  ASSERT_TRUE(WriteFileAtomic(p, "old", 0600).ok());
  EXPECT_EQ(*ReadFile(p), "old");
  EXPECT_EQ(Mode(p), 0600u);
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(WriteFileAtomic(p, big, 0644).ok());
  EXPECT_EQ(*ReadFile(p), big);
  EXPECT_EQ(Mode(p), 0644u);
  // No temporary files left behind.
  EXPECT_EQ(List(), std::vector<std::string>{"keys.json"});
  ASSERT_TRUE(WriteFileAtomic(p, "", 0400).ok());
  EXPECT_EQ(*ReadFile(p), "");
  EXPECT_EQ(Mode(p), 0400u);
}

TEST_F(FilesTest, FailedWriteLeavesOldContent) {
  std::string p = dir_ + "/state";
  ASSERT_TRUE(WriteFileAtomic(p, "old", 0600).ok());
  // A directory in the target's place makes rename fail after the temp file is fully written.
  std::string d = dir_ + "/sub";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  std::string inner = d + "/x";
  ASSERT_TRUE(WriteFileAtomic(inner, "x", 0600).ok());
  auto s = WriteFileAtomic(d, "new", 0600);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(d));
  EXPECT_EQ(*ReadFile(p), "old");
  EXPECT_THAT(List(), ::testing::UnorderedElementsAre("state", "sub"));
}

// A write that fails half-way (here the file size limit; on a full disk, ENOSPC) names the file being written, not
// only its temporary, keeps the old content and leaves no temporary behind.
TEST_F(FilesTest, FailedWriteNamesTheTargetAndKeepsOldContent) {
  std::string p = dir_ + "/server_svid.key";
  ASSERT_TRUE(WriteFileAtomic(p, "old", 0600).ok());
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto s = WriteFileAtomic(p, std::string(1 << 16, 'n'), 0600);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("write " + p + " (temporary " + p + ".tmp."));
  EXPECT_THAT(s.message(), HasSubstr(std::strerror(EFBIG)));
  EXPECT_EQ(*ReadFile(p), "old");
  EXPECT_EQ(List(), std::vector<std::string>{"server_svid.key"});
}

TEST_F(FilesTest, WriteIntoMissingDirFails) {
  auto s = WriteFileAtomic(dir_ + "/missing/f", "x", 0600);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(dir_ + "/missing/f"));
}

TEST_F(FilesTest, ConcurrentReadersSeeOldOrNew) {
  std::string p = dir_ + "/f";
  std::string a(100000, 'a'), b(200000, 'b');
  ASSERT_TRUE(WriteFileAtomic(p, a, 0600).ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(WriteFileAtomic(p, i % 2 ? a : b, 0600).ok());
    auto r = ReadFile(p);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(*r == a || *r == b);
  }
}

TEST_F(FilesTest, EnsureDir) {
  std::string p = dir_ + "/a/b/c";
  ASSERT_TRUE(EnsureDir(p, 0750).ok());
  EXPECT_EQ(Mode(p), 0750u);
  ASSERT_TRUE(EnsureDir(p, 0700).ok());  // existing: chmod only
  EXPECT_EQ(Mode(p), 0700u);
  ASSERT_TRUE(EnsureDir(p + "/", 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/file", "x", 0600).ok());
  auto s = EnsureDir(dir_ + "/file/sub", 0700);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(dir_ + "/file"));
}

}  // namespace
}  // namespace spirecvm::files
