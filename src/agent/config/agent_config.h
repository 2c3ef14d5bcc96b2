// The agent's configuration: SPIRE's `agent {}` keys and `plugins {}` blocks, validated once, with every
// unknown key and type error reported together (file:line:col). Each plugin block's plugin_data is read once, by
// its plugin in the catalog (agent/catalog.h), into a typed configuration kept in a builder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/catalog.h"
#include "agent/sds/sds_options.h"
#include "common/hcl.h"
#include "common/telemetry/config.h"
#include "crypto/keys.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::agent {

inline constexpr char kDefaultSocketPath[] = "/tmp/spire-agent/public/api.sock";
inline constexpr char kSyncIntervalEnv[] = "SPIRECVM_AGENT_SYNC_INTERVAL";

// One `Kind "name" { plugin_data { ... } }` block, parsed: the plugin's name and its builder (holding the typed
// plugin_data), to be called with the kind's deps once the whole file is valid.
template <typename Interface, typename Deps>
struct PluginConfig {
  std::string name;
  plugin::Builder<Interface, Deps> build;  // null only in a config that failed to parse
  hcl::Position pos;                       // of the block (0:0 for a default)
};
using NodeAttestorConfig = PluginConfig<NodeAttestorClient, NodeAttestorDeps>;
using KeyManagerConfig = PluginConfig<KeyManager, KeyManagerDeps>;
using WorkloadAttestorConfig = PluginConfig<WorkloadAttestor, WorkloadAttestorDeps>;

struct AgentConfig {
  spiffe::TrustDomain trust_domain;
  std::string server_address;
  int server_port = 8081;
  std::string socket_path = kDefaultSocketPath;
  std::string admin_socket_path;                  // empty: no admin API (SPIRE's default)
  std::vector<std::string> authorized_delegates;  // SPIFFE IDs allowed to use DelegatedIdentity
  std::string data_dir = "./.data";
  std::string log_level = "INFO";
  std::string log_format = "text";  // text | json (common/logging.h)
  std::string log_file;             // empty: stderr
  std::string trust_bundle_path;
  std::string trust_bundle_url;             // downloaded at start (agent/manager/bundle_url.h)
  std::string trust_bundle_unix_socket;     // trust_bundle_url fetched through this socket (then http:// allowed)
  std::string trust_bundle_format = "pem";  // pem | spiffe
  bool insecure_bootstrap = false;
  std::string join_token;
  std::string join_token_file;  // read by ResolveJoinTokenFile into join_token (SPIRE v1.13.3)
  crypto::KeyType workload_key_type = crypto::KeyType::kEcP256;
  int64_t x509_svid_cache_max_size = 1000;
  int64_t jwt_svid_cache_max_size = 1000;           // JWT-SVIDs cached per (entry, audience); least-lived evicted first
  absl::Duration sync_interval = absl::Seconds(5);  // agent.experimental.sync_interval or $SPIRECVM_AGENT_SYNC_INTERVAL

  sds::SdsOptions sds;  // agent.sds { ... }

  NodeAttestorConfig node_attestor;                        // exactly one
  KeyManagerConfig key_manager;                            // at most one; default "disk"
  std::vector<WorkloadAttestorConfig> workload_attestors;  // one per name; default "unix"

  // health_checks { listener_enabled bind_address bind_port live_path ready_path } and telemetry { Prometheus {} }
  telemetry::HealthChecksConfig health_checks;
  telemetry::TelemetryConfig telemetry;

  std::string filename;  // where it came from, for messages
};

// Parses (types, unknown keys: every problem at once). `env_sync_interval` is the value of
// $SPIRECVM_AGENT_SYNC_INTERVAL (empty = unset). Does not run the semantic checks of ValidateAgentConfig, so
// command-line overrides can be applied in between.
absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view filename,
                                             std::string_view env_sync_interval = "");

// Semantic checks: trust_domain and server_address set, exactly one bootstrap source (trust_bundle_path,
// trust_bundle_url with an https:// URL, or insecure_bootstrap), join_token present when
// the join_token attestor is used, known trust_bundle_format, admin_socket_path outside socket_path's directory.
absl::Status ValidateAgentConfig(const AgentConfig& c);

// join_token_file: reads the token (surrounding whitespace trimmed) into join_token. Both set, an unreadable or an
// empty file is an error naming the file. No-op without join_token_file.
absl::Status ResolveJoinTokenFile(AgentConfig& c);

// Reads the file and parses it (no validation).
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, std::string_view env_sync_interval = "");

// The deps each plugin kind is built with, from the (overridden, validated) configuration.
NodeAttestorDeps NodeAttestorDepsFor(const AgentConfig& c);
KeyManagerDeps KeyManagerDepsFor(const AgentConfig& c);

}  // namespace spirecvm::agent
