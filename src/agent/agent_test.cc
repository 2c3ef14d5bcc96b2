#include "agent/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/testing/test_ca.h"
#include "agent/workload/attestor_set.h"
#include "common/files.h"

namespace spirecvm::agent {
namespace {

using ::testing::HasSubstr;

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("agent-test-", getpid(), "-", n_++);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A valid configuration (insecure bootstrap, join token) with `plugins` as the plugins {} body.
  AgentConfig Config(const std::string& plugins) {
    const std::string text = absl::StrCat(R"(agent {
  trust_domain = "example.org"
  server_address = "127.0.0.1"
  server_port = 1
  insecure_bootstrap = true
  join_token = "tok"
  data_dir = ")",
                                          dir_.string(), R"("
  socket_path = ")",
                                          dir_.string(), R"(/public/api.sock"
}
plugins {
)",
                                          plugins, "\n}\n");
    auto c = ParseAgentConfig(text, "agent.conf");
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : AgentConfig{};
  }

  static inline int n_ = 0;
  std::filesystem::path dir_;
};

TEST_F(AgentTest, BuildPluginsBuildsWhatTheConfigNames) {
  auto p = BuildPlugins(Config(R"(NodeAttestor "join_token" {}
KeyManager "memory" {})"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->node_attestor->type(), "join_token");
  EXPECT_EQ(p->key_manager->name(), "memory");
  EXPECT_EQ(p->workload_attestor->name(), "unix");  // the default
}

TEST_F(AgentTest, BuildPluginsNamesThePluginThatFailed) {
  AgentConfig c = Config(R"(NodeAttestor "aws_iid" {
  plugin_data {
    sev_snp {
      report_provider = "simulated"
      simulator { dir = "/proc/self/no-such-dir/sim" }
    }
  }
})");
  c.join_token.clear();
  auto p = BuildPlugins(c);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("NodeAttestor \"aws_iid\": simulated SEV-SNP provider"));
}

TEST_F(AgentTest, ManagerOptionsReadTheBootstrapBundle) {
  AgentConfig c = Config("NodeAttestor \"join_token\" {}");
  c.sync_interval = absl::Seconds(7);
  auto mo = ManagerOptionsFor(c);
  ASSERT_TRUE(mo.ok()) << mo.status();
  EXPECT_FALSE(mo->bootstrap_bundle.has_value());
  EXPECT_TRUE(mo->insecure_bootstrap);
  EXPECT_EQ(mo->sync_interval, absl::Seconds(7));

  testing::TestCa ca = testing::TestCa::Make(absl::Now());
  const std::string pem = (dir_ / "bundle.pem").string();
  ASSERT_TRUE(files::WriteFileAtomic(pem, crypto::CertToPem(ca.cert.get()), 0644).ok());
  c.insecure_bootstrap = false;
  c.trust_bundle_path = pem;
  mo = ManagerOptionsFor(c);
  ASSERT_TRUE(mo.ok()) << mo.status();
  ASSERT_TRUE(mo->bootstrap_bundle.has_value());
  EXPECT_EQ(mo->bootstrap_bundle->x509_authorities_der.size(), 1u);

  c.trust_bundle_path = (dir_ / "missing.pem").string();
  EXPECT_FALSE(ManagerOptionsFor(c).ok());
}

TEST_F(AgentTest, CreateValidatesTheConfig) {
  AgentConfig c = Config("NodeAttestor \"join_token\" {}");
  c.join_token.clear();
  auto a = Agent::Create(c);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("needs agent.join_token"));
}

// The whole composition against a server that is not there: the Workload API answers at once and node
// attestation keeps retrying in the background until Stop.
TEST_F(AgentTest, StartsTheWorkloadApiBeforeAttestingAndStopsCleanly) {
  auto a = Agent::Create(Config("NodeAttestor \"join_token\" {}\nKeyManager \"memory\" {}"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->Start().ok());
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "public/api.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_FALSE((*a)->manager().has_identity());
  EXPECT_TRUE((*a)->live()) << "the manager thread runs its loop";
  EXPECT_FALSE((*a)->ready()) << "not ready before node attestation succeeded";
  (*a)->Stop();
  EXPECT_FALSE((*a)->live());
  (*a)->Stop();  // idempotent
}

}  // namespace
}  // namespace spirecvm::agent
