#include "agent/sevsnp/tsm_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/sevsnp/test_util.h"

namespace spirecvm::agent::snp {
namespace {

using ::testing::HasSubstr;
using testing::ReadTestFile;
using testing::ScopedTempDir;
using testing::WriteTestFile;
namespace fs = std::filesystem;

// What one report entry looks like right after mkdir, as a scenario for the fake.
struct FakeEntry {
  std::string provider = "sev_guest\n";
  std::string generation = "1\n";  // configfs counts writes; the fake states the value our reads will see
  std::string outblob = std::string(1184, '\x42');
  std::optional<std::string> auxblob = std::string("certificate table");
  bool has_inblob = true;
};

// A fake configfs-tsm: the directory is real, the provider does real open/read/write on real files. What the
// kernel does at mkdir (create the attribute files) and rmdir (drop them) the fake does in its hooks, recording
// what was written into each entry before removing it.
class FakeTsm {
 public:
  explicit FakeTsm(std::vector<FakeEntry> scenarios) : scenarios_(std::move(scenarios)) {}

  TsmOptions Options() {
    TsmOptions o;
    o.root = dir_.path();
    o.make_entry = [this](const std::string& d) { return Make(d); };
    o.remove_entry = [this](const std::string& d) { return Remove(d); };
    return o;
  }
  int made() const { return made_; }
  int removed() const { return removed_; }
  const std::vector<std::string>& inblobs() const { return inblobs_; }
  const std::vector<std::string>& privlevels() const { return privlevels_; }
  const std::vector<std::string>& names() const { return names_; }
  bool RootEmpty() const { return fs::is_empty(dir_.path()); }

 private:
  absl::Status Make(const std::string& d) {
    if (::mkdir(d.c_str(), 0700) != 0) return absl::InternalError(absl::StrCat("mkdir ", d));
    const FakeEntry& e = scenarios_[std::min<size_t>(made_, scenarios_.size() - 1)];
    ++made_;
    names_.push_back(fs::path(d).filename());
    WriteTestFile(d + "/provider", e.provider);
    WriteTestFile(d + "/generation", e.generation);
    WriteTestFile(d + "/outblob", e.outblob);
    if (e.auxblob.has_value()) WriteTestFile(d + "/auxblob", *e.auxblob);
    if (e.has_inblob) WriteTestFile(d + "/inblob", "");
    WriteTestFile(d + "/privlevel", "");
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& d) {
    ++removed_;
    inblobs_.push_back(ReadTestFile(d + "/inblob"));
    privlevels_.push_back(ReadTestFile(d + "/privlevel"));
    for (const auto& f : fs::directory_iterator(d)) fs::remove(f.path());
    if (::rmdir(d.c_str()) != 0) return absl::InternalError(absl::StrCat("rmdir ", d));
    return absl::OkStatus();
  }

  ScopedTempDir dir_;
  std::vector<FakeEntry> scenarios_;
  int made_ = 0;
  int removed_ = 0;
  std::vector<std::string> inblobs_, privlevels_, names_;
};

ReportData TestReportData() {
  ReportData rd{};
  for (size_t i = 0; i < rd.size(); ++i) rd[i] = static_cast<uint8_t>(i * 3 + 1);
  return rd;
}

std::string AsString(const ReportData& rd) { return std::string(reinterpret_cast<const char*>(rd.data()), rd.size()); }

TEST(TsmProvider, WritesInblobReadsOutblobAndAuxblobAndCleansUp) {
  FakeTsm fake({FakeEntry{}});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->report, std::string(1184, '\x42'));
  EXPECT_EQ(r->cert_table, "certificate table");
  ASSERT_EQ(fake.inblobs().size(), 1u);
  EXPECT_EQ(fake.inblobs()[0], AsString(TestReportData()));  // exactly the 64 bytes
  EXPECT_EQ(fake.privlevels()[0], "");                       // not written unless configured
  EXPECT_EQ(fake.made(), 1);
  EXPECT_EQ(fake.removed(), 1);
  EXPECT_TRUE(fake.RootEmpty());
  EXPECT_THAT(fake.names()[0], ::testing::StartsWith(absl::StrCat("spire-cvm-", ::getpid(), "-")));
}

TEST(TsmProvider, EntryNamesAreUniquePerRequest) {
  FakeTsm fake({FakeEntry{}});
  TsmProvider p(fake.Options());
  ASSERT_TRUE(p.GetReport(TestReportData()).ok());
  ASSERT_TRUE(p.GetReport(TestReportData()).ok());
  ASSERT_EQ(fake.names().size(), 2u);
  EXPECT_NE(fake.names()[0], fake.names()[1]);
}

TEST(TsmProvider, PrivlevelCountsAsAWrite) {
  FakeEntry e;
  e.generation = "2\n";
  FakeTsm fake({e});
  TsmOptions o = fake.Options();
  o.privlevel = 2;
  TsmProvider p(o);
  auto r = p.GetReport(TestReportData());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(fake.privlevels()[0], "2\n");
}

TEST(TsmProvider, MissingAuxblobMeansNoCertificateTable) {
  FakeEntry e;
  e.auxblob.reset();
  FakeTsm fake({e});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cert_table, "");
}

TEST(TsmProvider, GenerationMismatchRetriesInAFreshEntry) {
  FakeEntry raced;
  raced.generation = "2\n";  // someone else wrote into our entry
  FakeTsm fake({raced, FakeEntry{}});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(fake.made(), 2);
  EXPECT_EQ(fake.removed(), 2);
  EXPECT_NE(fake.names()[0], fake.names()[1]);
  EXPECT_TRUE(fake.RootEmpty());
}

TEST(TsmProvider, GenerationMismatchGivesUpAfterMaxAttempts) {
  FakeEntry raced;
  raced.generation = "7\n";
  FakeTsm fake({raced});
  TsmOptions o = fake.Options();
  o.max_attempts = 3;
  TsmProvider p(o);
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsAborted(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("generation is 7 after our 1 write(s)"));
  EXPECT_THAT(r.status().message(), HasSubstr("gave up after 3 attempts"));
  EXPECT_EQ(fake.made(), 3);
  EXPECT_EQ(fake.removed(), 3);
  EXPECT_TRUE(fake.RootEmpty());
}

TEST(TsmProvider, ProviderMismatchIsAnErrorAndCleansUp) {
  FakeEntry tdx;
  tdx.provider = "tdx_guest\n";
  FakeTsm fake({tdx});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("\"tdx_guest\", not \"sev_guest\""));
  EXPECT_EQ(fake.made(), 1);  // no retry: a different TEE will not become SEV-SNP
  EXPECT_EQ(fake.removed(), 1);
  EXPECT_EQ(fake.inblobs()[0], "");  // nothing was written
  EXPECT_TRUE(fake.RootEmpty());
}

TEST(TsmProvider, WrongOutblobSizeIsAnErrorAndCleansUp) {
  FakeEntry e;
  e.outblob = std::string(1000, 'x');
  FakeTsm fake({e});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("outblob is 1000 bytes"));
  EXPECT_EQ(fake.removed(), 1);
  EXPECT_TRUE(fake.RootEmpty());
}

TEST(TsmProvider, WriteFailureIsAnErrorAndCleansUp) {
  FakeEntry e;
  e.has_inblob = false;  // open(O_WRONLY) without O_CREAT fails
  FakeTsm fake({e});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("inblob"));
  EXPECT_EQ(fake.removed(), 1);
  EXPECT_TRUE(fake.RootEmpty());
}

TEST(TsmProvider, BadGenerationTextIsAnError) {
  FakeEntry e;
  e.generation = "many\n";
  FakeTsm fake({e});
  TsmProvider p(fake.Options());
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not a number"));
  EXPECT_TRUE(fake.RootEmpty());
}

// The default hooks (mkdir/rmdir) against a plain directory: mkdir works but no attribute files appear, so the
// report fails, and the entry is still removed.
TEST(TsmProvider, DefaultHooksRemoveTheEntryOnFailure) {
  ScopedTempDir dir;
  TsmOptions o;
  o.root = dir.path();
  TsmProvider p(o);
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/provider"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(TsmProvider, MissingRootSaysWhy) {
  TsmOptions o;
  o.root = "/nonexistent/spire-cvm/tsm/report";
  TsmProvider p(o);
  auto r = p.GetReport(TestReportData());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("is configfs mounted"));
}

}  // namespace
}  // namespace spirecvm::agent::snp
