#include "server/config/server_config.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/expand_env.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "server/catalog.h"

namespace spirecvm::server {
namespace {

constexpr char kGood[] = R"(
server {
  bind_address = "127.0.0.1"
  bind_port = "8081"
  socket_path = "/tmp/spire-server/private/api.sock"
  trust_domain = "example.org"
  data_dir = "./.data"
  log_level = "DEBUG"
  ca_ttl = "168h"
  default_x509_svid_ttl = "1h"
  ca_subject {
    country = ["US"]
    organization = ["SPIFFE"]
    common_name = ""
  }
}

plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "./.data/datastore.sqlite3"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      keys_path = "./.data/keys.json"
    }
  }
}

health_checks {
  listener_enabled = true
  bind_address = "0.0.0.0"
  bind_port = "8080"
  live_path = "/live"
  ready_path = "/ready"
}
)";

absl::Status Check(const std::string& text) {
  auto cfg = ParseServerConfig(text, "server.conf");
  if (!cfg.ok()) return cfg.status();
  return PlanPlugins(*cfg).status();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(ServerConfig, ParsesSpiresExampleConfig) {
  auto cfg = ParseServerConfig(kGood, "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->trust_domain.name(), "example.org");
  EXPECT_EQ(cfg->bind_address, "127.0.0.1");
  EXPECT_EQ(cfg->ca_ttl, absl::Hours(168));
  auto plan = PlanPlugins(*cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->datastore.name, "sql");
  EXPECT_EQ(plan->keymanager.name, "disk");
  ASSERT_EQ(plan->attestors.size(), 1u);
  EXPECT_EQ(plan->attestors[0].name, "join_token");
  EXPECT_FALSE(plan->upstream.has_value());
  config::Section ds = cfg->Find("DataStore")->data;
  EXPECT_EQ(ParseSqlDataStoreConfig(ds)->database_type, "sqlite3");
  config::Section km = cfg->Find("KeyManager")->data;
  EXPECT_EQ(ParseDiskKeyManagerConfig(km)->keys_path, "./.data/keys.json");
  EXPECT_TRUE(cfg->health_checks.listener_enabled);
}

TEST(ServerConfig, UnknownKeyIsAnErrorNamingItsLine) {
  auto st = Check(Replace(kGood, "log_level = \"DEBUG\"", "log_levle = \"DEBUG\""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("log_levle"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("server.conf:8"), std::string::npos) << st;
}

TEST(ServerConfig, UnknownPluginDataKeyIsAnError) {
  auto st = Check(Replace(kGood, "keys_path = \"./.data/keys.json\"", "keys_path = \"k\"\n      key_path = \"x\""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("key_path"), std::string::npos) << st;
}

TEST(ServerConfig, BadDuration) {
  auto st = Check(Replace(kGood, "ca_ttl = \"168h\"", "ca_ttl = \"one week\""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("ca_ttl"), std::string::npos) << st;
}

TEST(ServerConfig, AdminIds) {
  auto cfg = ParseServerConfig(
      Replace(kGood, "data_dir = \"./.data\"",
              "data_dir = \"./.data\"\n  admin_ids = [\"spiffe://example.org/admin\", \"spiffe://other.org/ops\"]"),
      "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->admin_ids, (std::vector<std::string>{"spiffe://example.org/admin", "spiffe://other.org/ops"}));
  auto st = Check(Replace(kGood, "data_dir = \"./.data\"", "data_dir = \"./.data\"\n  admin_ids = [\"not-an-id\"]"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("could not parse admin ID \"not-an-id\""), std::string::npos) << st;
}

// SPIRE's ratelimit block (both on by default) and our attestation_step_timeout.
TEST(ServerConfig, RateLimitAndAttestationStepTimeout) {
  auto defaults = ParseServerConfig(kGood, "server.conf");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->ratelimit_attestation);
  EXPECT_TRUE(defaults->ratelimit_signing);
  EXPECT_EQ(defaults->attestation_step_timeout, absl::Seconds(30));
  auto cfg = ParseServerConfig(Replace(kGood, "data_dir = \"./.data\"",
                                       "data_dir = \"./.data\"\n  ratelimit {\n    attestation = false\n    signing = "
                                       "true\n  }\n  attestation_step_timeout = \"5s\""),
                               "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->ratelimit_attestation);
  EXPECT_TRUE(cfg->ratelimit_signing);
  EXPECT_EQ(cfg->attestation_step_timeout, absl::Seconds(5));
  EXPECT_FALSE(
      Check(Replace(kGood, "data_dir = \"./.data\"", "data_dir = \"./.data\"\n  ratelimit { fast = true }")).ok());
}

TEST(ServerConfig, AuditLogEnabled) {
  auto defaults = ParseServerConfig(kGood, "server.conf");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_FALSE(defaults->audit_log_enabled);
  auto cfg = ParseServerConfig(
      Replace(kGood, "data_dir = \"./.data\"", "data_dir = \"./.data\"\n  audit_log_enabled = true"), "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->audit_log_enabled);
  EXPECT_FALSE(
      Check(Replace(kGood, "data_dir = \"./.data\"", "data_dir = \"./.data\"\n  audit_log_enabled = \"yes\"")).ok());
}

TEST(ServerConfig, BadTrustDomain) {
  auto st = Check(Replace(kGood, "trust_domain = \"example.org\"", "trust_domain = \"Example.ORG\""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("trust_domain"), std::string::npos) << st;
}

TEST(ServerConfig, MissingTrustDomain) {
  auto st = Check(Replace(kGood, "trust_domain = \"example.org\"", ""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("trust_domain is required"), std::string::npos) << st;
}

TEST(ServerConfig, UnknownPlugin) {
  auto st = Check(Replace(kGood, "NodeAttestor \"join_token\"", "NodeAttestor \"k8s_psat\""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("k8s_psat"), std::string::npos) << st;
}

TEST(ServerConfig, BadDatabaseType) {
  auto st = Check(Replace(kGood, "database_type = \"sqlite3\"", "database_type = \"mysql\""));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("mysql"), std::string::npos) << st;
}

TEST(ServerConfig, SyntaxErrorNamesLineAndColumn) {
  auto st = Check("server {\n  trust_domain = \"example.org\n}\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("server.conf:2:"), std::string::npos) << st;
}

TEST(ServerConfig, ReportsEveryErrorAtOnce) {
  std::string bad = Replace(Replace(kGood, "log_level = \"DEBUG\"", "log_level = \"LOUD\""), "bind_port = \"8081\"",
                            "bind_port = \"8081\"\n  bogus = 1");
  auto st = Check(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("LOUD"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("bogus"), std::string::npos) << st;
}

TEST(ServerConfig, MissingDataStore) {
  std::string no_ds = R"(server { trust_domain = "example.org" }
plugins {
  NodeAttestor "join_token" { plugin_data {} }
  KeyManager "memory" { plugin_data {} }
})";
  auto st = Check(no_ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("DataStore"), std::string::npos) << st;
}

}  // namespace
}  // namespace spirecvm::server

namespace spirecvm::server {
namespace {

TEST(ServerConfig, PostgresAndTelemetryKeys) {
  std::string text = R"(server { trust_domain = "example.org" }
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "postgres"
      connection_string = "host=127.0.0.1 dbname=spire"
      ro_connection_string = "host=replica dbname=spire"
      max_open_conns = 4
      conn_max_lifetime = "30m"
    }
  }
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
}
telemetry {
  Prometheus {
    host = "127.0.0.1"
    port = 9988
  }
}
)";
  auto cfg = ParseServerConfig(text, "pg.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->telemetry.prometheus);
  EXPECT_EQ(cfg->telemetry.prometheus_port, 9988);
  ASSERT_TRUE(PlanPlugins(*cfg).ok());
  config::Section data = cfg->Find("DataStore")->data;
  auto sql = ParseSqlDataStoreConfig(data);
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(sql->database_type, "postgres");
  EXPECT_EQ(sql->max_open_conns, 4);
  EXPECT_EQ(sql->conn_max_lifetime, absl::Minutes(30));
  EXPECT_EQ(sql->ro_connection_string, "host=replica dbname=spire");
}

TEST(ServerConfig, BadTelemetryPort) {
  auto cfg = ParseServerConfig(R"(server { trust_domain = "example.org" }
plugins {
  DataStore "sql" { plugin_data { database_type = "sqlite3" connection_string = "x" } }
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
}
telemetry { Prometheus { port = 70000 } }
)",
                               "t.conf");
  ASSERT_TRUE(cfg.ok());
  auto plan = PlanPlugins(*cfg);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(std::string(plan.status().message()).find("70000"), std::string::npos) << plan.status();
}

// SPIRE's Helm chart renders server.conf as JSON (charts/spire/charts/spire-server/templates/configmap.yaml):
// test/data/spire-helm/server.json is that shape, with ${VARS} for -expandEnv.
std::string HelmServerJson() {
  auto text = files::ReadFile(std::string(SPIRECVM_VECTORS_DIR) + "/spire-helm/server.json");
  EXPECT_TRUE(text.ok()) << text.status();
  static const std::map<std::string, std::string> env = {{"SPIRECVM_DATA", "/var/lib/spire-cvm"},
                                                         {"SPIRECVM_SERVER_PORT", "8081"},
                                                         {"SPIRECVM_HEALTH_PORT", "8080"},
                                                         {"SPIRECVM_PROM_PORT", "9988"}};
  return config::ExpandEnv(text.ok() ? *text : "", [](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

TEST(ServerConfig, LoadsSpireHelmRenderedJson) {
  auto cfg = ParseServerConfig(HelmServerJson(), "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->trust_domain.name(), "example.org");
  EXPECT_EQ(cfg->bind_port, 8081);
  EXPECT_EQ(cfg->data_dir, "/var/lib/spire-cvm/server");
  EXPECT_EQ(cfg->log_format, "json");
  EXPECT_EQ(cfg->log_level, "DEBUG");
  EXPECT_EQ(cfg->ca_subject_country, "ARPA");
  EXPECT_EQ(cfg->ca_subject_org, "Example");
  EXPECT_EQ(cfg->ca_subject_cn, "example.org");
  EXPECT_EQ(cfg->default_x509_svid_ttl, absl::Hours(4));
  EXPECT_EQ(cfg->jwt_issuer, "https://oidc-discovery.example.org");
  EXPECT_TRUE(cfg->health_checks.listener_enabled);
  EXPECT_EQ(cfg->health_checks.bind_port, 8080);
  EXPECT_TRUE(cfg->telemetry.prometheus);
  EXPECT_EQ(cfg->telemetry.prometheus_port, 9988);
  auto plan = PlanPlugins(*cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->datastore.name, "sql");
  EXPECT_EQ(plan->keymanager.name, "memory");  // "plugin_data": null, as the chart renders an empty key
  ASSERT_EQ(plan->attestors.size(), 1u);
  EXPECT_EQ(plan->attestors[0].name, "join_token");
}

TEST(ServerConfig, JsonUnknownKeysNameTheirPathAndLine) {
  std::string text = Replace(HelmServerJson(), "\"jwt_issuer\"", "\"jwt_isuer\"");
  text = Replace(text, "\"database_type\": \"sqlite3\"", "\"database_type\": \"sqlite3\", \"pool\": 3");
  auto st = Check(text);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("unknown key \"jwt_isuer\" in server (server.conf:54:"), std::string::npos)
      << st;
  EXPECT_NE(std::string(st.message()).find("pool"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("plugins.DataStore \"sql\".plugin_data"), std::string::npos) << st;
}

TEST(ServerConfig, JsonMapFormOfPluginsAndFederation) {
  auto cfg = ParseServerConfig(R"({
  "server": {"trust_domain": "example.org",
    "federation": {"bundle_endpoint": {"address": "127.0.0.1", "port": 8443},
      "federates_with": {"other.org": {"bundle_endpoint_url": "https://127.0.0.1:9443",
        "bundle_endpoint_profile": {"https_spiffe": {"endpoint_spiffe_id": "spiffe://other.org/spire/server"}}}}}},
  "plugins": {"DataStore": {"sql": {"plugin_data": {"database_type": "sqlite3", "connection_string": "x"}}},
              "KeyManager": {"memory": {}}, "NodeAttestor": {"join_token": {"plugin_data": {}}}}
})",
                               "server.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_TRUE(cfg->federation.bundle_endpoint.has_value());
  EXPECT_EQ(cfg->federation.bundle_endpoint->port, 8443);
  ASSERT_EQ(cfg->federation.federates_with.size(), 1u);
  EXPECT_EQ(cfg->federation.federates_with[0].trust_domain.name(), "other.org");
  EXPECT_EQ(cfg->federation.federates_with[0].endpoint_spiffe_id, "spiffe://other.org/spire/server");
  auto plan = PlanPlugins(*cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->keymanager.name, "memory");
}

TEST(ServerConfig, LogPruneAndJwtSwitches) {
  auto cfg = ParseServerConfig(Replace(kGood, "log_level = \"DEBUG\"",
                                       "log_level = \"DEBUG\"\n  log_format = \"JSON\"\n  log_file = \"/tmp/s.log\"\n"
                                       "  prune_attested_nodes_expired_for = \"24h\"\n  prune_tofu_nodes = true\n"
                                       "  disable_jwt_svids = true"),
                               "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->log_format, "json");
  EXPECT_EQ(cfg->log_file, "/tmp/s.log");
  EXPECT_EQ(cfg->prune_attested_nodes_expired_for, absl::Hours(24));
  EXPECT_TRUE(cfg->prune_tofu_nodes);
  EXPECT_TRUE(cfg->disable_jwt_svids);
  EXPECT_TRUE(PlanPlugins(*cfg).ok());

  auto st = Check(Replace(kGood, "log_level = \"DEBUG\"", "log_format = \"xml\""));
  EXPECT_NE(std::string(st.message()).find("log_format \"xml\" is not one of text, json"), std::string::npos) << st;
  st = Check(Replace(kGood, "log_level = \"DEBUG\"", "prune_attested_nodes_expired_for = \"0s\""));
  EXPECT_NE(std::string(st.message()).find("must be positive"), std::string::npos) << st;
}

TEST(ServerConfig, MaxAttestedNodeInfoStaleness) {
  auto cfg = ParseServerConfig(kGood, "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->max_attested_node_info_staleness, absl::ZeroDuration());  // SPIRE's default: no node cache

  cfg = ParseServerConfig(Replace(kGood, "log_level = \"DEBUG\"", "max_attested_node_info_staleness = \"30s\""),
                          "server.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->max_attested_node_info_staleness, absl::Seconds(30));

  auto st = Check(Replace(kGood, "log_level = \"DEBUG\"", "max_attested_node_info_staleness = \"-1s\""));
  EXPECT_NE(std::string(st.message()).find("negative durations are not allowed"), std::string::npos) << st;
  for (const char* bad : {"1h", "2h"}) {
    st = Check(
        Replace(kGood, "log_level = \"DEBUG\"", absl::StrCat("max_attested_node_info_staleness = \"", bad, "\"")));
    EXPECT_NE(std::string(st.message()).find("max_attested_node_info_staleness must be under 1h (how long node events"),
              std::string::npos)
        << bad << ": " << st;
  }
}

TEST(ServerConfig, FlagsOverrideTheFile) {
  ServerFlagOverrides flags{.bind_address = "0.0.0.0",
                            .bind_port = 9090,
                            .trust_domain = "flag.example",
                            .data_dir = "/d",
                            .socket_path = "/s.sock",
                            .log_file = "/l.log",
                            .log_format = "json",
                            .log_level = "warn"};
  auto cfg = ParseServerConfig(kGood, "server.conf", flags);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->bind_address, "0.0.0.0");
  EXPECT_EQ(cfg->bind_port, 9090);
  EXPECT_EQ(cfg->trust_domain.name(), "flag.example");
  EXPECT_EQ(cfg->data_dir, "/d");
  EXPECT_EQ(cfg->socket_path, "/s.sock");
  EXPECT_EQ(cfg->log_file, "/l.log");
  EXPECT_EQ(cfg->log_format, "json");
  EXPECT_EQ(cfg->log_level, "WARN");
  EXPECT_TRUE(PlanPlugins(*cfg).ok());

  // -trustDomain stands in for a file without trust_domain.
  std::string no_td = Replace(kGood, "trust_domain = \"example.org\"", "");
  EXPECT_FALSE(Check(no_td).ok());
  ServerFlagOverrides td_only;
  td_only.trust_domain = "example.org";
  auto from_flag = ParseServerConfig(no_td, "server.conf", td_only);
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_TRUE(PlanPlugins(*from_flag).ok());

  ServerFlagOverrides bad;
  bad.bind_port = 70000;
  bad.log_format = "xml";
  bad.trust_domain = "Bad Domain";
  auto bad_cfg = ParseServerConfig(kGood, "server.conf", bad);
  absl::Status st = bad_cfg.ok() ? PlanPlugins(*bad_cfg).status() : bad_cfg.status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("-serverPort 70000"), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("-logFormat \"xml\""), std::string::npos) << st;
  EXPECT_NE(std::string(st.message()).find("-trustDomain \"Bad Domain\""), std::string::npos) << st;
}

}  // namespace
}  // namespace spirecvm::server
