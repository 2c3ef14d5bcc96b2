// CallerFromPid reads a live process's credentials; AttestProcess refuses a process whose start time changed.
#include "agent/workload/caller_attestation.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/unix_socket.h"

namespace spirecvm::agent {
namespace {

class FixedAttestor : public WorkloadAttestor {
 public:
  std::string name() const override { return "fixed"; }
  absl::StatusOr<std::vector<std::string>> Attest(const CallerInfo& c) override {
    return std::vector<std::string>{absl::StrCat("test:pid:", c.pid)};
  }
};

TEST(CallerAttestationTest, CallerFromOwnPid) {
  auto c = CallerFromPid(getpid(), "/proc");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pid, getpid());
  EXPECT_EQ(c->uid, geteuid());
  EXPECT_EQ(c->gid, getegid());
  EXPECT_EQ(c->start_time, *ProcessStartTime(getpid()));
  FixedAttestor a;
  auto sel = AttestProcess(*c, a, "/proc");
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(*sel, std::vector<std::string>{absl::StrCat("test:pid:", getpid())});
}

TEST(CallerAttestationTest, RefusesBadPidsAndReusedPids) {
  EXPECT_EQ(CallerFromPid(0, "/proc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CallerFromPid(-3, "/proc").status().code(), absl::StatusCode::kInvalidArgument);
  const auto root = std::filesystem::temp_directory_path() / absl::StrCat("fakeproc-", getpid());
  std::filesystem::create_directories(root);
  EXPECT_EQ(CallerFromPid(4242, root.string()).status().code(), absl::StatusCode::kNotFound);

  auto c = CallerFromPid(getpid(), "/proc");
  ASSERT_TRUE(c.ok());
  c->start_time += 1;  // as if the pid now belonged to a later process
  FixedAttestor a;
  EXPECT_EQ(AttestProcess(*c, a, "/proc").status().code(), absl::StatusCode::kPermissionDenied);
  std::filesystem::remove_all(root);
}

TEST(CallerAttestationTest, StatusWithoutUidLineIsAnError) {
  const auto root = std::filesystem::temp_directory_path() / absl::StrCat("fakeproc2-", getpid());
  std::filesystem::create_directories(root / "77");
  std::ofstream(root / "77" / "stat") << "77 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0\n";
  std::ofstream(root / "77" / "status") << "Name:\tx\nGid:\t5\t5\t5\t5\n";
  auto c = CallerFromPid(77, root.string());
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("Uid:"), std::string::npos) << c.status();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace spirecvm::agent
