// The spire-agent command line: dispatch, usage, and the output and exit codes of run/validate/healthcheck.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli_common.h"
#include "common/files.h"

namespace spirecvm::cli::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
  int code;
  std::string out, err;
};

Result Cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = Main(args, Io{out, err});
  return {code, out.str(), err.str()};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("agent-cli-", getpid(), "-", n_++);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteConfig(const std::string& text) {
    const std::string path = (dir_ / "agent.conf").string();
    EXPECT_TRUE(files::WriteFileAtomic(path, text, 0644).ok());
    return path;
  }

  static inline int n_ = 0;
  std::filesystem::path dir_;
};

constexpr char kConfig[] = R"(agent {
  trust_domain = "example.org"
  server_address = "127.0.0.1"
  insecure_bootstrap = true
  join_token = "t"
}
plugins {
  NodeAttestor "join_token" {}
  KeyManager "memory" {}
}
)";

TEST(CliDispatchTest, UsageAndVersion) {
  Result none = Cli({});
  EXPECT_EQ(none.code, 127);
  EXPECT_THAT(none.err, StartsWith("Usage: spire-agent"));
  EXPECT_EQ(none.out, "");

  Result help = Cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.err, HasSubstr("api fetch x509"));

  Result version = Cli({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out, "spire-cvm 0.1.0 (SPIRE-compatible agent)\n");
}

TEST(CliDispatchTest, UnknownCommandsPrintTheUsage) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"fly"}, {"api"}, {"api", "validate", "x509"}}) {
    Result r = Cli(args);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, StartsWith("unknown command: " + args[0]));
    EXPECT_THAT(r.err, HasSubstr("Usage: spire-agent"));
  }
}

TEST(CliDispatchTest, FlagErrorsAndHelpPerCommand) {
  Result bad = Cli({"healthcheck", "-nope"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, StartsWith("flag provided but not defined: -nope\nUsage of healthcheck:"));

  Result help = Cli({"api", "fetch", "jwt", "-h"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.err, StartsWith("Usage of api fetch jwt:"));
  EXPECT_THAT(help.err, HasSubstr("-audience"));

  Result extra = Cli({"validate", "stray"});
  EXPECT_EQ(extra.code, 1);
  EXPECT_THAT(extra.err, StartsWith("unexpected argument: stray"));
}

TEST_F(CliTest, ValidateAcceptsAGoodFile) {
  Result r = Cli({"validate", "-config", WriteConfig(kConfig)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SPIRE agent configuration file is valid.\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, ValidateReportsEveryProblemWithPositions) {
  const std::string path = WriteConfig(R"(agent {
  trust_domain = "example.org"
  server_adress = "x"
}
plugins {
  NodeAttestor "join_token" {}
  KeyManager "tpm" {}
}
)");
  Result r = Cli({"validate", "-config", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(path + ":3:3"));
  EXPECT_THAT(r.err, HasSubstr("server_adress"));
  EXPECT_THAT(r.err, HasSubstr(path + ":7:3: plugins.KeyManager \"tpm\": unknown KeyManager plugin"));
}

TEST_F(CliTest, ValidateChecksWhatRunWouldRun) {
  const std::string path = WriteConfig(R"(agent {
  trust_domain = "example.org"
  server_address = "127.0.0.1"
  insecure_bootstrap = true
}
plugins { NodeAttestor "join_token" {} }
)");
  Result missing = Cli({"validate", "-config", path});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NodeAttestor \"join_token\" needs agent.join_token (or -joinToken)"));
  Result with_token = Cli({"validate", "-config", path, "-joinToken", "abc"});
  EXPECT_EQ(with_token.code, 0) << with_token.err;
  Result bad_td = Cli({"validate", "-config", path, "-joinToken", "abc", "-trustDomain", "Not A Domain"});
  EXPECT_EQ(bad_td.code, 1);
  EXPECT_THAT(bad_td.err, StartsWith("-trustDomain: "));
}

TEST_F(CliTest, RunStopsAtConfigErrorsBeforeStartingAnything) {
  Result missing = Cli({"run", "-config", (dir_ / "nope.conf").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope.conf"));

  Result invalid = Cli({"run", "-config", WriteConfig(kConfig), "-insecureBootstrap=false"});
  EXPECT_EQ(invalid.code, 1);
  EXPECT_THAT(invalid.err, HasSubstr("exactly one bootstrap source is required"));

  Result bad_port = Cli({"run", "-config", WriteConfig(kConfig), "-serverPort", "eighty"});
  EXPECT_EQ(bad_port.code, 1);
  EXPECT_THAT(bad_port.err, StartsWith("invalid value \"eighty\" for flag -serverPort"));
}

TEST_F(CliTest, HealthcheckWithoutAnAgent) {
  Result r = Cli({"healthcheck", "-socketPath", (dir_ / "none.sock").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Agent is unavailable.\n");
  Result verbose = Cli({"healthcheck", "-verbose", "-socketPath", (dir_ / "none.sock").string()});
  EXPECT_EQ(verbose.out, "Checking agent health...\n");
  EXPECT_THAT(verbose.err, StartsWith("Agent is unavailable. "));
}

}  // namespace
}  // namespace spirecvm::cli::agent
