// The server's HCL configuration: SPIRE's `server { ... }` keys and `plugins { Kind "name" { plugin_data { ... } } }`.
// Parsing reads the core keys and collects the plugin declarations; the plugin catalog (server/catalog.h)
// then checks kinds, names and counts and has each plugin read its own plugin_data; the root section's
// Finish() reports every error and every unknown key at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config_reader.h"
#include "common/hcl.h"
#include "common/telemetry/config.h"
#include "crypto/keys.h"
#include "server/config/federation_config.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// One `Kind "name" { ... }` block of `plugins`, not yet checked against the catalog.
struct PluginDecl {
  std::string kind;       // e.g. DataStore, KeyManager, NodeAttestor, UpstreamAuthority
  std::string name;       // e.g. sql, disk, memory, join_token, aws_iid
  config::Section block;  // the whole block: errors about the plugin itself are recorded here
  config::Section data;   // plugin_data (empty section when absent)
  hcl::Position pos;
};

// health_checks {} and telemetry {}: read as the agent reads them (common/telemetry/config.h).
using telemetry::HealthChecksConfig;
using telemetry::TelemetryConfig;

struct ServerConfig {
  std::shared_ptr<hcl::Body> doc;  // owns what the sections point into
  std::optional<config::Section> root;

  spiffe::TrustDomain trust_domain;
  std::string bind_address = "0.0.0.0";
  int bind_port = 8081;
  std::string socket_path = "/tmp/spire-server/private/api.sock";
  std::string data_dir = "./.data";
  std::string log_level = "INFO";
  std::string log_format = "text";  // text | json (common/logging.h)
  std::string log_file;             // empty: stderr
  // SPIRE's prune_attested_nodes_expired_for / prune_tofu_nodes: delete attested nodes whose SVID expired longer
  // ago than this (0: never), hourly; banned nodes are kept; nodes that cannot re-attest only with prune_tofu_nodes.
  absl::Duration prune_attested_nodes_expired_for = absl::ZeroDuration();
  bool prune_tofu_nodes = false;
  // SPIRE's disable_jwt_svids: every JWT-SVID signing request is refused ("JWT functionality is disabled").
  bool disable_jwt_svids = false;
  // SPIRE's max_attested_node_info_staleness: how long agent authentication may use an attested node's record
  // without reading the datastore (server/node_cache.h); 0 (SPIRE's default): every agent call reads it.
  absl::Duration max_attested_node_info_staleness = absl::ZeroDuration();
  absl::Duration ca_ttl = absl::Hours(24);
  crypto::KeyType ca_key_type = crypto::KeyType::kEcP256;
  crypto::KeyType jwt_key_type = crypto::KeyType::kEcP256;
  std::string ca_subject_country = "US";
  std::string ca_subject_org = "SPIFFE";
  std::string ca_subject_cn;
  absl::Duration default_x509_svid_ttl = absl::Hours(1);
  absl::Duration default_jwt_svid_ttl = absl::Minutes(5);
  absl::Duration agent_ttl = absl::ZeroDuration();  // 0: default_x509_svid_ttl
  std::string jwt_issuer;
  std::vector<std::string> admin_ids;  // SPIFFE IDs allowed to call the admin APIs over TLS (SPIRE's admin_ids)
  absl::Duration cache_refresh_interval = absl::Seconds(1);  // experimental: entry cache refresh
  // SPIRE's ratelimit { attestation signing }: per-IP limits on the agent API (1/s attestation, 500/s signing).
  bool ratelimit_attestation = true;
  bool ratelimit_signing = true;
  // SPIRE's audit_log_enabled: one structured "type=audit" line per agent-API and admin-API call (api/audit_log.h).
  bool audit_log_enabled = false;
  // Each step of an AttestAgent exchange must complete within this, or the stream is dropped (ours, not SPIRE's).
  absl::Duration attestation_step_timeout = absl::Seconds(30);
  HealthChecksConfig health_checks;
  TelemetryConfig telemetry;
  FederationConfig federation;  // server { federation { ... } }

  std::optional<config::Section> plugins_block;  // `plugins { ... }`: errors about the set of plugins go here
  std::vector<PluginDecl> plugins;
  const PluginDecl* Find(std::string_view kind) const;
};

// SPIRE's `run` / `validate` flags: values given on the command line win over the file. Empty (0) = not given.
struct ServerFlagOverrides {
  std::string bind_address;  // -bindAddress
  int64_t bind_port = 0;     // -serverPort
  std::string trust_domain;  // -trustDomain (the file may then leave trust_domain out)
  std::string data_dir;      // -dataDir
  std::string socket_path;   // -socketPath
  std::string log_file;      // -logFile
  std::string log_format;    // -logFormat
  std::string log_level;     // -logLevel
};

// Parses and checks the core keys and collects the plugin declarations. Plugin kinds, names and data are
// left for the catalog (PlanPlugins in server/catalog.h), which also calls the root's Finish(). The text is HCL,
// or JSON when config::LooksLikeJson (a ".json" name or a leading '{'). Flag values are checked like the keys
// they replace; an invalid one is reported naming the flag.
absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view text, const std::string& filename,
                                               const ServerFlagOverrides& flags = {});

}  // namespace spirecvm::server
