#include "config_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace spirecvm::cli::agent {
namespace {

using ::testing::HasSubstr;

class ConfigFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / absl::StrCat("agent-flags-", getpid(), ".conf")).string();
    ASSERT_TRUE(files::WriteFileAtomic(path_, R"(agent {
  trust_domain = "example.org"
  server_address = "file.example"
  data_dir = "/from/file"
  trust_bundle_path = "/from/file/bundle.pem"
}
plugins {
  NodeAttestor "join_token" {}
}
)",
                                       0644)
                    .ok());
  }
  void TearDown() override { std::filesystem::remove(path_); }

  absl::StatusOr<spirecvm::agent::AgentConfig> Load(std::vector<std::string> args) {
    flags_ = ConfigFlags{};  // each call parses its own command line
    flags::FlagSet fs("run");
    flags_.Register(fs);
    args.insert(args.begin(), {"-config", path_});
    auto rest = fs.Parse(args);
    EXPECT_TRUE(rest.ok()) << rest.status();
    return LoadConfig(flags_, fs);
  }

  std::string path_;
  ConfigFlags flags_;
};

TEST_F(ConfigFlagsTest, FlagsOverrideTheFile) {
  auto c = Load({"-joinToken", "tok", "-dataDir", "/from/flag", "-serverAddress", "flag.example", "-serverPort", "9090",
                 "-socketPath", "/tmp/x.sock", "-trustDomain", "other.org", "-logLevel", "DEBUG"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->join_token, "tok");
  EXPECT_EQ(c->data_dir, "/from/flag");
  EXPECT_EQ(c->server_address, "flag.example");
  EXPECT_EQ(c->server_port, 9090);
  EXPECT_EQ(c->socket_path, "/tmp/x.sock");
  EXPECT_EQ(c->trust_domain.name(), "other.org");
  EXPECT_EQ(c->log_level, "DEBUG");
  // The disk KeyManager's default directory follows -dataDir.
  auto km = c->key_manager.build(spirecvm::agent::KeyManagerDepsFor(*c));
  ASSERT_TRUE(km.ok());
  EXPECT_EQ(dynamic_cast<spirecvm::agent::DiskKeyManager&>(**km).path(), "/from/flag/agent_svid.key");
}

TEST_F(ConfigFlagsTest, TheResultIsValidated) {
  auto no_token = Load({});
  ASSERT_FALSE(no_token.ok());
  EXPECT_THAT(std::string(no_token.status().message()), HasSubstr("needs agent.join_token"));
  // -insecureBootstrap on top of trust_bundle_path: two bootstrap sources.
  auto two = Load({"-joinToken", "t", "-insecureBootstrap"});
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(std::string(two.status().message()), HasSubstr("only one bootstrap source"));
  // -trustBundle '' is not "set": only non-empty overrides apply.
  auto fine = Load({"-joinToken", "t", "-trustBundle", ""});
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->trust_bundle_path, "/from/file/bundle.pem");
}

TEST_F(ConfigFlagsTest, JoinTokenFileLogFlagsAndTrustBundleUrl) {
  const std::string token_path = path_ + ".token";
  ASSERT_TRUE(files::WriteFileAtomic(token_path, "tok-from-file\n", 0600).ok());
  auto c = Load({"-joinTokenFile", token_path, "-logFormat", "JSON", "-logFile", "/tmp/agent.log"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->join_token, "tok-from-file");
  EXPECT_EQ(c->log_format, "json");
  EXPECT_EQ(c->log_file, "/tmp/agent.log");
  auto both = Load({"-joinToken", "t", "-joinTokenFile", token_path});
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(std::string(both.status().message()), HasSubstr("cannot both be set"));
  std::filesystem::remove(token_path);

  auto bad_format = Load({"-joinToken", "t", "-logFormat", "xml"});
  ASSERT_FALSE(bad_format.ok());
  EXPECT_THAT(std::string(bad_format.status().message()), HasSubstr("-logFormat \"xml\""));
  // The file has trust_bundle_path: -trustBundleUrl makes two bootstrap sources, as in SPIRE.
  auto url = Load({"-joinToken", "t", "-trustBundleUrl", "https://bundle.example.org/b.pem"});
  ASSERT_FALSE(url.ok());
  EXPECT_THAT(std::string(url.status().message()), HasSubstr("only one bootstrap source"));
}

TEST_F(ConfigFlagsTest, ExpandEnv) {
  ASSERT_TRUE(files::WriteFileAtomic(path_, R"(agent {
  trust_domain = "example.org"
  server_address = "${SPIRECVM_FLAGS_TEST_SERVER}"
  trust_bundle_path = "/b.pem"
  join_token = "t"
}
plugins { NodeAttestor "join_token" {} }
)",
                                     0644)
                  .ok());
  ASSERT_EQ(setenv("SPIRECVM_FLAGS_TEST_SERVER", "env.example", 1), 0);
  auto literal = Load({});
  ASSERT_TRUE(literal.ok()) << literal.status();
  EXPECT_EQ(literal->server_address, "${SPIRECVM_FLAGS_TEST_SERVER}");  // without -expandEnv, as written
  auto expanded = Load({"-expandEnv"});
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(expanded->server_address, "env.example");
  unsetenv("SPIRECVM_FLAGS_TEST_SERVER");
}

}  // namespace
}  // namespace spirecvm::cli::agent
