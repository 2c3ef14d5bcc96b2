#include "agent/config/agent_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::agent {
namespace {

using ::testing::HasSubstr;

constexpr char kGood[] = R"(
agent {
  data_dir = "/tmp/data"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = 8081
  socket_path = "/tmp/agent.sock"
  trust_bundle_path = "/tmp/bundle.pem"
  trust_domain = "example.org"
  join_token = "abc"
  workload_x509_svid_key_type = "ec-p384"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "/tmp/keys"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {
      discover_workload_path = true
    }
  }
}
)";

TEST(AgentConfigTest, ParsesSpireKeys) {
  auto c = ParseAgentConfig(kGood, "agent.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->trust_domain.name(), "example.org");
  EXPECT_EQ(c->server_address, "127.0.0.1");
  EXPECT_EQ(c->server_port, 8081);
  EXPECT_EQ(c->socket_path, "/tmp/agent.sock");
  EXPECT_EQ(c->data_dir, "/tmp/data");
  EXPECT_EQ(c->join_token, "abc");
  EXPECT_EQ(c->workload_key_type, crypto::KeyType::kEcP384);
  EXPECT_EQ(c->sync_interval, absl::Seconds(1));
  EXPECT_EQ(c->node_attestor.name, "join_token");
  EXPECT_EQ(c->key_manager, "disk");
  EXPECT_EQ(c->key_manager_directory, "/tmp/keys");
  ASSERT_TRUE(c->unix_attestor.has_value());
  EXPECT_TRUE(c->unix_attestor->discover_workload_path);
  EXPECT_TRUE(ValidateAgentConfig(*c).ok());
}

TEST(AgentConfigTest, Defaults) {
  auto c = ParseAgentConfig(R"(agent {
  trust_domain = "example.org"
  server_address = "s"
  insecure_bootstrap = true
}
plugins {
  NodeAttestor "join_token" {}
  KeyManager "memory" {}
})",
                            "a.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_path, "/tmp/spire-agent/public/api.sock");
  EXPECT_EQ(c->server_port, 8081);
  EXPECT_EQ(c->sync_interval, absl::Seconds(5));
  EXPECT_EQ(c->workload_key_type, crypto::KeyType::kEcP256);
  EXPECT_EQ(c->key_manager, "memory");
  // join_token attestor without a token is a semantic error.
  EXPECT_THAT(ValidateAgentConfig(*c).message(), HasSubstr("join_token"));
}

TEST(AgentConfigTest, UnknownKeysNameLineAndColumn) {
  auto c = ParseAgentConfig(R"(agent {
  trust_domain = "example.org"
  server_adress = "x"
}
plugins {
  NodeAttestor "join_token" {}
}
)",
                            "agent.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("server_adress"));
  EXPECT_THAT(c.status().message(), HasSubstr("agent.conf:3"));
}

TEST(AgentConfigTest, ExactlyOneBootstrapSource) {
  auto both = ParseAgentConfig(R"(agent {
  trust_domain = "example.org"
  server_address = "s"
  join_token = "t"
  insecure_bootstrap = true
  trust_bundle_path = "/b.pem"
}
plugins { NodeAttestor "join_token" {} })",
                               "a.conf");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_THAT(ValidateAgentConfig(*both).message(), HasSubstr("only one bootstrap source"));
  auto none = ParseAgentConfig(R"(agent {
  trust_domain = "example.org"
  server_address = "s"
  join_token = "t"
}
plugins { NodeAttestor "join_token" {} })",
                               "a.conf");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(ValidateAgentConfig(*none).message(), HasSubstr("exactly one bootstrap source"));
}

TEST(AgentConfigTest, RejectsBadValues) {
  auto c = ParseAgentConfig(R"(agent {
  trust_domain = "Bad Domain"
  server_port = "x"
  workload_x509_svid_key_type = "dsa"
}
plugins {
  NodeAttestor "join_token" {}
  KeyManager "tpm" {}
  WorkloadAttestor "k8s" {}
})",
                            "a.conf");
  ASSERT_FALSE(c.ok());
  std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr("trust_domain"));
  EXPECT_THAT(m, HasSubstr("server_port"));
  EXPECT_THAT(m, HasSubstr("workload_x509_svid_key_type"));
  EXPECT_THAT(m, HasSubstr("tpm"));
  EXPECT_THAT(m, HasSubstr("k8s"));
}

TEST(AgentConfigTest, SyncIntervalFromEnvironment) {
  auto c = ParseAgentConfig(kGood, "agent.conf", "250ms");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sync_interval, absl::Milliseconds(250));
  EXPECT_FALSE(ParseAgentConfig(kGood, "agent.conf", "soon").ok());
}

TEST(AgentConfigTest, MissingNodeAttestor) {
  auto c = ParseAgentConfig("agent { trust_domain = \"example.org\" }\nplugins {}\n", "a.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("NodeAttestor"));
}

}  // namespace
}  // namespace spirecvm::agent
