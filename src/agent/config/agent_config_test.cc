#include "agent/config/agent_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "agent/workload/unix_attestor.h"
#include "common/expand_env.h"
#include "common/files.h"

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

// health_checks {} and telemetry {} at the top level, as SPIRE's agent reads them; off by default.
TEST(AgentConfigTest, HealthChecksAndTelemetryBlocks) {
  auto d = ParseAgentConfig(kGood, "agent.conf");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->health_checks.listener_enabled);
  EXPECT_FALSE(d->telemetry.prometheus);
  std::string text = std::string(kGood) +
                     "health_checks {\n  listener_enabled = true\n  bind_port = 8088\n  ready_path = \"/r\"\n}\n"
                     "telemetry {\n  Prometheus {\n    port = 9989\n  }\n}\n";
  auto c = ParseAgentConfig(text, "agent.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->health_checks.listener_enabled);
  EXPECT_EQ(c->health_checks.bind_address, "localhost");
  EXPECT_EQ(c->health_checks.bind_port, 8088);
  EXPECT_EQ(c->health_checks.live_path, "/live");
  EXPECT_EQ(c->health_checks.ready_path, "/r");
  EXPECT_TRUE(c->telemetry.prometheus);
  EXPECT_EQ(c->telemetry.prometheus_port, 9989);
  auto bad = ParseAgentConfig(std::string(kGood) + "health_checks {\n  bind_prot = 1\n}\n", "agent.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("bind_prot"));
}

// agent.sds { ... }: SPIRE's defaults, each key, strict unknown keys and types.
TEST(AgentConfigTest, SdsBlock) {
  auto with = [](const std::string& keys) {
    std::string text = kGood;
    text.replace(text.find("agent {") + 7, 0, "\n" + keys);
    return ParseAgentConfig(text, "agent.conf");
  };
  auto d = with("");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->sds.default_svid_name, "default");
  EXPECT_EQ(d->sds.default_bundle_name, "ROOTCA");
  EXPECT_EQ(d->sds.default_all_bundles_name, "ALL");
  EXPECT_FALSE(d->sds.disable_spiffe_cert_validation);

  auto c = with(R"(sds {
    default_svid_name = "svid"
    default_bundle_name = "null"
    default_all_bundles_name = "ROOTCA"
    disable_spiffe_cert_validation = true
  })");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sds.default_svid_name, "svid");
  EXPECT_EQ(c->sds.default_bundle_name, "null");
  EXPECT_EQ(c->sds.default_all_bundles_name, "ROOTCA");
  EXPECT_TRUE(c->sds.disable_spiffe_cert_validation);

  // Equal names are accepted with a warning, as SPIRE v1.13 does (Helm values set both to ROOTCA).
  auto same = with(R"(sds {
    default_bundle_name = "ROOTCA"
    default_all_bundles_name = "ROOTCA"
  })");
  EXPECT_TRUE(same.ok()) << same.status();

  auto bad = with(R"(sds {
    default_svid_nam = "x"
    disable_spiffe_cert_validation = "yes"
  })");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("default_svid_nam"));
  EXPECT_THAT(bad.status().message(), HasSubstr("disable_spiffe_cert_validation"));
}

// SPIRE's admin socket keys: the path, the delegates (SPIFFE IDs), and SPIRE's placement rule.
TEST(AgentConfigTest, AdminSocketAndAuthorizedDelegates) {
  auto with = [](const std::string& keys) {
    std::string text = kGood;
    text.replace(text.find("agent {") + 7, 0, "\n" + keys);
    return ParseAgentConfig(text, "agent.conf");
  };
  auto c = with(R"(admin_socket_path = "/run/spire-agent/admin.sock"
  authorized_delegates = ["spiffe://example.org/envoy", "spiffe://example.org/cilium"])");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->admin_socket_path, "/run/spire-agent/admin.sock");
  EXPECT_THAT(c->authorized_delegates,
              ::testing::ElementsAre("spiffe://example.org/envoy", "spiffe://example.org/cilium"));
  EXPECT_TRUE(ValidateAgentConfig(*c).ok());

  auto bad_id = with(R"(authorized_delegates = ["not-a-spiffe-id"])");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_THAT(bad_id.status().message(), HasSubstr("authorized_delegates"));
  EXPECT_THAT(bad_id.status().message(), HasSubstr("not-a-spiffe-id"));

  auto beside = with(R"(admin_socket_path = "/tmp/private/admin.sock")");  // below socket_path's /tmp
  ASSERT_TRUE(beside.ok()) << beside.status();
  absl::Status st = ValidateAgentConfig(*beside);
  EXPECT_THAT(st.message(), HasSubstr("agent.admin_socket_path: admin socket cannot be in the same directory or a "
                                      "subdirectory as that containing the Workload API socket"));
}

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
  EXPECT_EQ(c->key_manager.name, "disk");
  auto km = c->key_manager.build(KeyManagerDepsFor(*c));
  ASSERT_TRUE(km.ok()) << km.status();
  EXPECT_EQ(dynamic_cast<DiskKeyManager&>(**km).path(), "/tmp/keys/agent_svid.key");
  ASSERT_EQ(c->workload_attestors.size(), 1u);
  EXPECT_EQ(c->workload_attestors[0].name, "unix");
  auto wa = c->workload_attestors[0].build(WorkloadAttestorDeps{});
  ASSERT_TRUE(wa.ok()) << wa.status();
  EXPECT_TRUE(dynamic_cast<UnixAttestor&>(**wa).config().discover_workload_path);
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
  EXPECT_EQ(c->key_manager.name, "memory");
  ASSERT_EQ(c->workload_attestors.size(), 1u);  // WorkloadAttestor "unix" by default
  EXPECT_EQ(c->workload_attestors[0].name, "unix");
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

std::string WithAgentKeys(const std::string& keys) {
  std::string text = kGood;
  text.replace(text.find("agent {") + 7, 0, "\n" + keys + "\n");
  return text;
}

// SPIRE's Helm chart renders agent.conf as JSON (charts/spire/charts/spire-agent/templates/configmap.yaml):
// test/data/spire-helm/agent.json is that shape, with ${VARS} for -expandEnv.
TEST(AgentConfigTest, LoadsSpireHelmRenderedJson) {
  auto text = files::ReadFile(std::string(SPIRECVM_VECTORS_DIR) + "/spire-helm/agent.json");
  ASSERT_TRUE(text.ok()) << text.status();
  std::string expanded = config::ExpandEnv(*text, [](const std::string& name) -> std::optional<std::string> {
    static const std::map<std::string, std::string> env = {{"SPIRECVM_DATA", "/var/lib/spire-cvm"},
                                                           {"SPIRECVM_SERVER_PORT", "8081"},
                                                           {"SPIRECVM_AGENT_HEALTH_PORT", "9982"}};
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  auto c = ParseAgentConfig(expanded, "agent.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->trust_domain.name(), "example.org");
  EXPECT_EQ(c->server_port, 8081);
  EXPECT_EQ(c->socket_path, "/var/lib/spire-cvm/agent/public/spire-agent.sock");
  EXPECT_EQ(c->log_format, "json");
  EXPECT_EQ(c->join_token_file, "/var/lib/spire-cvm/join-token");
  EXPECT_EQ(c->trust_bundle_path, "/var/lib/spire-cvm/bundle.pem");
  EXPECT_EQ(c->node_attestor.name, "join_token");
  EXPECT_EQ(c->key_manager.name, "memory");
  ASSERT_EQ(c->workload_attestors.size(), 1u);
  EXPECT_EQ(c->workload_attestors[0].name, "unix");
  EXPECT_EQ(c->sds.default_bundle_name, "ROOTCA");
}

TEST(AgentConfigTest, JsonUnknownKeyNamesItsPath) {
  auto c = ParseAgentConfig(R"({"agent": {"trust_domain": "example.org", "sever_address": "x"},
  "plugins": {"NodeAttestor": [{"join_token": {"plugin_data": {}, "plugin_dat": {}}}]}})",
                            "agent.json");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("unknown key \"sever_address\" in agent (agent.json:1:"));
  EXPECT_THAT(c.status().message(), HasSubstr("unknown key \"plugin_dat\" in plugins.NodeAttestor \"join_token\""));
}

TEST(AgentConfigTest, LogFormatAndFile) {
  auto c = ParseAgentConfig(WithAgentKeys("log_format = \"JSON\"\nlog_file = \"/tmp/a.log\""), "a.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_format, "json");
  EXPECT_EQ(c->log_file, "/tmp/a.log");
  auto bad = ParseAgentConfig(WithAgentKeys("log_format = \"xml\""), "a.conf");
  EXPECT_THAT(bad.status().message(), HasSubstr("agent.log_format: want \"text\" or \"json\""));
}

TEST(AgentConfigTest, JoinTokenFile) {
  const std::string dir = ::testing::TempDir() + "/agent_config_join_token";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/token";
  { std::ofstream(path) << "  tok-123\n"; }
  std::string text = kGood;
  text.replace(text.find("join_token = \"abc\""), 18, "join_token_file = \"" + path + "\"");
  auto c = ParseAgentConfig(text, "a.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(ResolveJoinTokenFile(*c).ok());
  EXPECT_EQ(c->join_token, "tok-123");
  EXPECT_TRUE(ValidateAgentConfig(*c).ok());

  auto both = ParseAgentConfig(WithAgentKeys("join_token_file = \"" + path + "\""), "a.conf");
  ASSERT_TRUE(both.ok());
  EXPECT_THAT(ResolveJoinTokenFile(*both).message(), HasSubstr("cannot both be set"));

  { std::ofstream(path) << " \n"; }
  auto empty = ParseAgentConfig(text, "a.conf");
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(ResolveJoinTokenFile(*empty).message(), HasSubstr("is empty"));
  auto missing = ParseAgentConfig(text.replace(text.find(path), path.size(), dir + "/missing"), "a.conf");
  ASSERT_TRUE(missing.ok());
  EXPECT_THAT(ResolveJoinTokenFile(*missing).message(), HasSubstr("agent.join_token_file"));
  std::filesystem::remove_all(dir);
}

TEST(AgentConfigTest, TrustBundleUrl) {
  std::string text = kGood;
  text.replace(text.find("trust_bundle_path = \"/tmp/bundle.pem\""), 37,
               "trust_bundle_url = \"https://bundle.example.org/b.pem\"\ntrust_bundle_format = \"spiffe\"");
  auto c = ParseAgentConfig(text, "a.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->trust_bundle_url, "https://bundle.example.org/b.pem");
  EXPECT_EQ(c->trust_bundle_format, "spiffe");
  EXPECT_TRUE(ValidateAgentConfig(*c).ok()) << ValidateAgentConfig(*c);

  c->trust_bundle_url = "http://bundle.example.org/b.pem";
  EXPECT_THAT(ValidateAgentConfig(*c).message(), HasSubstr("must start with https://"));
  c->trust_bundle_unix_socket = "/run/bundle.sock";  // through a Unix socket, http is allowed
  EXPECT_TRUE(ValidateAgentConfig(*c).ok()) << ValidateAgentConfig(*c);
  c->trust_bundle_url = "https://bundle.example.org/b.pem";  // and only http: no TLS over the socket
  EXPECT_THAT(ValidateAgentConfig(*c).message(), HasSubstr("must start with http:// when trust_bundle_unix_socket"));
  c->trust_bundle_url = "http://bundle.example.org/b.pem";
  c->trust_bundle_path = "/tmp/bundle.pem";
  EXPECT_THAT(ValidateAgentConfig(*c).message(), HasSubstr("only one bootstrap source"));
}

TEST(AgentConfigTest, CacheSizesRebootstrapAndAvailabilityTarget) {
  auto c = ParseAgentConfig(
      WithAgentKeys("jwt_svid_cache_max_size = 50\nrebootstrap_mode = \"never\"\nrebootstrap_delay = \"10m\""),
      "a.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->jwt_svid_cache_max_size, 50);
  auto refused =
      ParseAgentConfig(WithAgentKeys("rebootstrap_mode = \"auto\"\navailability_target = \"24h\""), "a.conf");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("agent.rebootstrap_mode: \"auto\" is not supported"));
  EXPECT_THAT(refused.status().message(), HasSubstr("agent.availability_target: not supported"));
}

TEST(AgentConfigTest, SyncIntervalFromEnvironment) {
  auto c = ParseAgentConfig(kGood, "agent.conf", "250ms");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sync_interval, absl::Milliseconds(250));
  EXPECT_FALSE(ParseAgentConfig(kGood, "agent.conf", "soon").ok());
}

TEST(AgentConfigTest, DiskKeyManagerByDefaultInDataDir) {
  auto c = ParseAgentConfig(R"(agent {
  trust_domain = "example.org"
  data_dir = "/var/lib/agent"
}
plugins { NodeAttestor "join_token" {} })",
                            "a.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->key_manager.name, "disk");
  auto km = c->key_manager.build(KeyManagerDepsFor(*c));
  ASSERT_TRUE(km.ok()) << km.status();
  EXPECT_EQ(dynamic_cast<DiskKeyManager&>(**km).path(), "/var/lib/agent/agent_svid.key");
  c->data_dir = "/elsewhere";  // -dataDir moves the default key directory too
  EXPECT_EQ(dynamic_cast<DiskKeyManager&>(**c->key_manager.build(KeyManagerDepsFor(*c))).path(),
            "/elsewhere/agent_svid.key");
}

TEST(AgentConfigTest, UnknownPluginNamesListTheCatalogWithPositions) {
  auto c = ParseAgentConfig(R"(agent { trust_domain = "example.org" }
plugins {
  NodeAttestor "tpm_devid" {
    plugin_data { devid_cert_path = "/x" }
  }
  KeyManager "tpm" {}
  WorkloadAttestor "k8s" { plugin_data { kubelet_read_only_port = 10255 } }
})",
                            "agent.conf");
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr("agent.conf:3:3: plugins.NodeAttestor \"tpm_devid\": unknown NodeAttestor plugin "
                           "\"tpm_devid\" (known: join_token, aws_iid)"));
  EXPECT_THAT(m, HasSubstr("agent.conf:6:3: plugins.KeyManager \"tpm\": unknown KeyManager plugin \"tpm\" "
                           "(known: disk, memory)"));
  EXPECT_THAT(m, HasSubstr("agent.conf:7:3: plugins.WorkloadAttestor \"k8s\": unknown WorkloadAttestor plugin "
                           "\"k8s\" (known: unix)"));
  // The plugin_data of an unknown plugin is not reported key by key on top.
  EXPECT_THAT(m, ::testing::Not(HasSubstr("devid_cert_path")));
  EXPECT_THAT(m, ::testing::Not(HasSubstr("kubelet_read_only_port")));
}

TEST(AgentConfigTest, DuplicatePluginsAreReportedEachAtItsBlock) {
  auto c = ParseAgentConfig(R"(agent { trust_domain = "example.org" }
plugins {
  NodeAttestor "join_token" {}
  NodeAttestor "aws_iid" {}
  KeyManager "disk" {}
  KeyManager "memory" {}
  WorkloadAttestor "unix" {}
  WorkloadAttestor "unix" {}
})",
                            "agent.conf");
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr("agent.conf:4:3: plugins.NodeAttestor \"aws_iid\": only one NodeAttestor may be "
                           "configured"));
  EXPECT_THAT(m, HasSubstr("agent.conf:6:3: plugins.KeyManager \"memory\": only one KeyManager may be configured"));
  EXPECT_THAT(m, HasSubstr("agent.conf:8:3: plugins.WorkloadAttestor \"unix\": WorkloadAttestor \"unix\" is "
                           "configured twice"));
}

TEST(AgentConfigTest, PluginDataGoesThroughTheStrictReader) {
  auto c = ParseAgentConfig(R"(agent { trust_domain = "example.org" }
plugins {
  NodeAttestor "join_token" { plugin_data { token = "x" } }
  KeyManager "disk" { plugin_data { directory = 7  dir = "/x" } }
  WorkloadAttestor "unix" {
    plugin_data = { discover_workload_path = "yes" }
  }
  NodeAttestor "aws_iid" { enabled = false  plugin_data { anything = 1 } }
})",
                            "agent.conf");
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr("unknown key \"token\""));
  EXPECT_THAT(m, HasSubstr("agent.conf:4:49: plugins.KeyManager \"disk\".plugin_data.directory: want a string"));
  EXPECT_THAT(m, HasSubstr("unknown key \"dir\""));
  EXPECT_THAT(m, HasSubstr("discover_workload_path: want a bool"));
  EXPECT_THAT(m, ::testing::Not(HasSubstr("anything")));  // a disabled plugin is not read
}

TEST(AgentConfigTest, MissingNodeAttestor) {
  auto c = ParseAgentConfig("agent { trust_domain = \"example.org\" }\nplugins {}\n", "a.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("NodeAttestor"));
}

}  // namespace
}  // namespace spirecvm::agent
