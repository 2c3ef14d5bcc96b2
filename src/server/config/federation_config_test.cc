#include "server/config/federation_config.h"

#include "gtest/gtest.h"
#include "server/catalog.h"
#include "server/config/server_config.h"

namespace spirecvm::server {
namespace {

std::string Config(const std::string& federation) {
  return R"(server {
  trust_domain = "example.org"
  data_dir = "./.data"
)" + federation +
         R"(
}
plugins {
  DataStore "sql" { plugin_data { database_type = "sqlite3" connection_string = "x.db" } }
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
}
)";
}

absl::StatusOr<ServerConfig> Parse(const std::string& federation) {
  auto cfg = ParseServerConfig(Config(federation), "server.conf");
  if (!cfg.ok()) return cfg.status();
  auto plan = PlanPlugins(*cfg);
  if (!plan.ok()) return plan.status();
  return cfg;
}

TEST(FederationConfig, ParsesSpiresLayout) {
  auto cfg = Parse(R"(
  federation {
    bundle_endpoint {
      address = "127.0.0.1"
      port = 8443
      refresh_hint = "10s"
      profile "https_web" {
        serving_cert_file {
          cert_file_path = "/etc/web.pem"
          key_file_path = "/etc/web.key"
          file_sync_interval = "1m"
        }
      }
    }
    federates_with "other.org" {
      bundle_endpoint_url = "https://10.0.0.2:8443"
      bundle_endpoint_profile "https_spiffe" {
        endpoint_spiffe_id = "spiffe://other.org/spire/server"
      }
    }
    federates_with "web.org" {
      bundle_endpoint_url = "https://web.org/bundle"
      bundle_endpoint_profile "https_web" {}
    }
  })");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const FederationConfig& f = cfg->federation;
  ASSERT_TRUE(f.bundle_endpoint.has_value());
  EXPECT_EQ(f.bundle_endpoint->address, "127.0.0.1");
  EXPECT_EQ(f.bundle_endpoint->port, 8443);
  EXPECT_EQ(f.bundle_endpoint->refresh_hint, absl::Seconds(10));
  EXPECT_EQ(f.bundle_endpoint->profile, BundleEndpointProfile::kHttpsWeb);
  EXPECT_EQ(f.bundle_endpoint->web_cert_file, "/etc/web.pem");
  EXPECT_EQ(f.bundle_endpoint->web_key_file, "/etc/web.key");
  ASSERT_EQ(f.federates_with.size(), 2u);
  EXPECT_EQ(f.federates_with[0].trust_domain.name(), "other.org");
  EXPECT_EQ(f.federates_with[0].profile, BundleEndpointProfile::kHttpsSpiffe);
  EXPECT_EQ(f.federates_with[0].endpoint_spiffe_id, "spiffe://other.org/spire/server");
  EXPECT_EQ(f.federates_with[1].profile, BundleEndpointProfile::kHttpsWeb);
  EXPECT_EQ(f.federates_with[1].bundle_endpoint_url, "https://web.org/bundle");
}

TEST(FederationConfig, DefaultsToHttpsSpiffeEndpoint) {
  auto cfg = Parse("federation { bundle_endpoint { port = 8443 } }");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->federation.bundle_endpoint->profile, BundleEndpointProfile::kHttpsSpiffe);
  EXPECT_EQ(cfg->federation.bundle_endpoint->address, "0.0.0.0");
  EXPECT_EQ(cfg->federation.bundle_endpoint->refresh_hint, absl::Minutes(5));
  EXPECT_TRUE(cfg->federation.federates_with.empty());
}

void ExpectError(const std::string& federation, const std::string& want) {
  auto cfg = Parse(federation);
  ASSERT_FALSE(cfg.ok()) << federation;
  EXPECT_NE(cfg.status().message().find(want), std::string::npos) << cfg.status().message();
}

TEST(FederationConfig, RefusesWhatSpireRefuses) {
  ExpectError(R"(federation { federates_with "other.org" { bundle_endpoint_url = "https://h"
      bundle_endpoint_profile "https_spiffe" {} } })",
              "endpoint SPIFFE ID is required for the https_spiffe profile");
  ExpectError(R"(federation { federates_with "other.org" { bundle_endpoint_url = "http://h"
      bundle_endpoint_profile "https_web" {} } })",
              "must use the https scheme");
  ExpectError(R"(federation { federates_with "other.org" { bundle_endpoint_url = "https://h" } })",
              "bundle_endpoint_profile");
  // Refused when the configuration is read, not at the first refresh: what the fetcher could not connect to.
  ExpectError(R"(federation { federates_with "other.org" { bundle_endpoint_url = "https://user:secret@h:8443/b"
      bundle_endpoint_profile "https_web" {} } })",
              "bundle endpoint URL \"https://user:secret@h:8443/b\" has user info");
  ExpectError(R"(federation { federates_with "other.org" { bundle_endpoint_url = "https://h:99999"
      bundle_endpoint_profile "https_web" {} } })",
              "bundle endpoint URL \"https://h:99999\" has an invalid port \"99999\"");
  ExpectError(R"(federation { federates_with "other.org" { bundle_endpoint_url = "https://[::1/b"
      bundle_endpoint_profile "https_web" {} } })",
              "has an unclosed '[' in its host");
  ExpectError(R"(federation { federates_with "example.org" { bundle_endpoint_url = "https://h"
      bundle_endpoint_profile "https_web" {} } })",
              "cannot federate with our own trust domain");
  ExpectError(R"(federation { federates_with "Bad TD" { bundle_endpoint_url = "https://h"
      bundle_endpoint_profile "https_web" {} } })",
              "invalid trust domain");
  ExpectError(R"(federation { federates_with "o.org" { bundle_endpoint_url = "https://h"
      bundle_endpoint_profile "https_spiffe" { endpoint_spiffe_id = "nope" } } })",
              "endpoint SPIFFE ID \"nope\" is invalid");
  ExpectError(R"(federation { bundle_endpoint { profile "https_web" {} } })", "serving_cert_file");
  ExpectError(R"(federation { bundle_endpoint { profile "https_web" { acme { domain_name = "x" } } } })",
              "ACME is not supported");
  ExpectError(R"(federation { bundle_endpoint { profile "mtls" {} } })", "unknown bundle endpoint profile \"mtls\"");
  ExpectError(R"(federation { bundle_endpoint { prot = 1 } })", "unknown key \"prot\"");
  ExpectError(R"(federation { federates_with "o.org" { bundle_endpoint_url = "https://h"
      bundle_endpoint_profile "https_web" {} }
      federates_with "o.org" { bundle_endpoint_url = "https://h" bundle_endpoint_profile "https_web" {} } })",
              "configured twice");
}

}  // namespace
}  // namespace spirecvm::server
