#include "cli/server/cli_common.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/fake_admin_for_test.h"

namespace spirecvm::cli {
namespace {

using ::testing::HasSubstr;
using testing::RunVerb;

TEST(ParseSelectorTest, SplitsAtTheFirstColon) {
  auto s = ParseSelector("unix:uid:1000");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->type(), "unix");
  EXPECT_EQ(s->value(), "uid:1000");
}

TEST(ParseSelectorTest, RejectsMissingHalves) {
  for (const char* bad : {"unix", "unix:", ":uid:1000", ":", ""}) {
    auto s = ParseSelector(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.status().message()),
              std::string("selector \"") + bad + "\" must be formatted as type:value");
  }
}

TEST(CliCommonTest, OutputFormatIsPrettyOrJson) {
  std::ostringstream out, err;
  Io io{out, err};
  EXPECT_TRUE(ValidOutputFormat("pretty", io));
  EXPECT_TRUE(ValidOutputFormat("json", io));
  EXPECT_TRUE(err.str().empty());
  EXPECT_FALSE(ValidOutputFormat("yaml", io));
  EXPECT_EQ(err.str(), "invalid -output value \"yaml\": want pretty or json\n");
}

TEST(CliCommonTest, FormatUnixIsUtcRfc3339) { EXPECT_EQ(FormatUnix(0), "1970-01-01T00:00:00Z"); }

TEST(CliCommonTest, UnknownFlagAndStrayArgumentPrintUsage) {
  auto r = RunVerb(EntryCount, {"-nosuchflag"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("nosuchflag"));
  EXPECT_THAT(r.err, HasSubstr("-socketPath"));  // the usage
  r = RunVerb(EntryCount, {"stray"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("unexpected argument: stray"));
  EXPECT_TRUE(r.out.empty());
}

TEST(CliCommonTest, UnreachableServerSaysSo) {
  auto r = RunVerb(EntryCount, {"-socketPath", "/nonexistent-dir-for-cvm-test/api.sock"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: cannot reach the server's admin API"));
}

TEST(CliCommonTest, ServerErrorIsPrintedWithItsMessage) {
  testing::FakeAdminServer srv;
  srv.admin().fail_with = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not an admin");
  auto r = RunVerb(EntryCount, {"-socketPath", srv.socket()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: not an admin\n");
}

}  // namespace
}  // namespace spirecvm::cli
