#include "server/config/server_config.h"

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

}  // namespace
}  // namespace spirecvm::server
