#include "agent/sevsnp/auto_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "agent/sevsnp/test_util.h"

namespace spirecvm::agent::snp {
namespace {

using ::testing::HasSubstr;
using testing::ScopedTempDir;
using testing::WriteTestFile;

TEST(AutoProvider, NoDeviceIsAClearError) {
  ScopedTempDir dir;
  AutoProvider p(dir.path() + "/tsm/report", dir.path() + "/sev-guest");
  auto which = p.Select();
  ASSERT_FALSE(which.ok());
  auto r = p.GetReport(ReportData{});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsNotFound(r.status()));
  EXPECT_THAT(r.status().message(), HasSubstr("no SEV-SNP guest device: is this an SEV-SNP VM?"));
  EXPECT_THAT(r.status().message(), HasSubstr(dir.path() + "/sev-guest"));
}

TEST(AutoProvider, PrefersTsmThenSevGuest) {
  ScopedTempDir dir;
  const std::string tsm = dir.path() + "/tsm";
  const std::string dev = dir.path() + "/sev-guest";
  AutoProvider p(tsm, dev);

  WriteTestFile(dev, "");  // a regular file stands in for the device node
  ASSERT_TRUE(p.Select().ok());
  EXPECT_EQ(*p.Select(), "sev-guest");
  auto r = p.GetReport(ReportData{});  // ioctl on a regular file: ENOTTY, reported with the device
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(dev + ": SNP_GET_EXT_REPORT failed"));

  ASSERT_EQ(::mkdir(tsm.c_str(), 0700), 0);
  EXPECT_EQ(*p.Select(), "tsm");
  r = p.GetReport(ReportData{});  // a plain directory has no `provider` attribute
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("configfs-tsm"));
  EXPECT_TRUE(std::filesystem::is_empty(tsm));  // the entry was removed again
}

}  // namespace
}  // namespace spirecvm::agent::snp
