#include "agent/config/agent_config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/adminapi/admin_socket.h"
#include "agent/manager/bundle_url.h"
#include "common/config_reader.h"
#include "common/duration.h"
#include "common/files.h"
#include "common/json_config.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/telemetry/config.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {
namespace {

// Reads one plugin block through `registry`: the plugin's own reader takes plugin_data (block or object form) and
// records its problems in the same error list as the rest of the file. nullopt when the name is unknown.
template <typename Interface, typename Deps>
std::optional<PluginConfig<Interface, Deps>> ReadPlugin(const plugin::Registry<Interface, Deps>& registry,
                                                        const std::string& name, config::Section& block) {
  if (!registry.Has(name)) {
    block.MarkKnown("plugin_data");  // its keys mean nothing without a plugin to read them
    // Parse of an unknown name reads nothing and returns the error naming the kind and its known plugins.
    block.AddError(block.pos(), std::string(registry.Parse(name, block).status().message()));
    return std::nullopt;
  }
  static const hcl::Body kEmptyBody;  // plugin_data absent: the plugin reads an empty section
  std::optional<config::Section> data = block.Child("plugin_data");
  config::Section empty = config::Section::FromBody(kEmptyBody, block.path() + ".plugin_data", block.filename());
  absl::StatusOr<plugin::Builder<Interface, Deps>> builder = registry.Parse(name, data ? *data : empty);
  if (absl::Status st = empty.Finish(); !st.ok()) block.AddError(block.pos(), std::string(st.message()));
  if (!builder.ok()) {
    block.AddError(block.pos(), std::string(builder.status().message()));
    return std::nullopt;
  }
  return PluginConfig<Interface, Deps>{name, *std::move(builder), block.pos()};
}

// A plugin with an empty plugin_data, for the kinds that have a default.
template <typename Interface, typename Deps>
PluginConfig<Interface, Deps> DefaultPlugin(const plugin::Registry<Interface, Deps>& registry, std::string name) {
  static const hcl::Body kEmptyBody;
  config::Section empty = config::Section::FromBody(kEmptyBody, "", "");
  absl::StatusOr<plugin::Builder<Interface, Deps>> builder = registry.Parse(name, empty);
  return {std::move(name), builder.ok() ? *std::move(builder) : nullptr, hcl::Position{}};
}

// The plugin name of a `Kind "name" { ... }` block, or nullopt when the block is malformed or `enabled = false`.
std::optional<std::string> PluginName(const std::string& kind, const std::vector<std::string>& labels,
                                      config::Section& block) {
  if (labels.size() != 1) {
    block.AddError(block.pos(), absl::StrCat("plugin block ", kind, " needs exactly one name label"));
    return std::nullopt;
  }
  if (auto enabled = block.Bool("enabled"); enabled.has_value() && !*enabled) {
    block.MarkKnown("plugin_data");
    return std::nullopt;
  }
  return labels[0];
}

// Reads one enabled plugin block of any kind into `c`. `seen` holds "Kind" for the kinds configured once and
// "Kind/name" for the others, to report duplicates.
void ReadPluginBlock(const std::string& kind, const std::string& name, config::Section& block, AgentConfig& c,
                     std::set<std::string>& seen) {
  if (kind == "NodeAttestor" || kind == "KeyManager") {
    if (!seen.insert(kind).second) {
      block.AddError(block.pos(), absl::StrCat("only one ", kind, " may be configured"));
      return;
    }
  } else if (kind == "WorkloadAttestor") {
    if (!seen.insert(kind + "/" + name).second) {
      block.AddError(block.pos(), absl::StrCat("WorkloadAttestor \"", name, "\" is configured twice"));
      return;
    }
  }
  if (kind == "NodeAttestor") {
    if (auto p = ReadPlugin(NodeAttestors(), name, block)) c.node_attestor = *std::move(p);
  } else if (kind == "KeyManager") {
    if (auto p = ReadPlugin(KeyManagers(), name, block)) c.key_manager = *std::move(p);
  } else if (kind == "WorkloadAttestor") {
    if (auto p = ReadPlugin(WorkloadAttestors(), name, block)) c.workload_attestors.push_back(*std::move(p));
  } else {
    block.AddError(block.pos(), absl::StrCat("unknown plugin kind \"", kind,
                                             "\" (agent supports NodeAttestor, KeyManager, WorkloadAttestor)"));
  }
}

// Reads the plugins {} section: exactly one NodeAttestor, at most one KeyManager (default disk), WorkloadAttestors
// once per name (default unix).
void ReadPlugins(config::Section& plugins, AgentConfig& c) {
  std::set<std::string> seen;
  for (const std::string& kind : plugins.Keys()) {
    for (auto& [labels, block] : plugins.Blocks(kind, 1)) {
      if (std::optional<std::string> name = PluginName(kind, labels, block)) {
        ReadPluginBlock(kind, *name, block, c, seen);
      }
    }
  }
  if (!seen.count("NodeAttestor")) plugins.AddError(plugins.pos(), "a NodeAttestor plugin must be configured");
  if (!c.key_manager.build) c.key_manager = DefaultPlugin(KeyManagers(), "disk");
  if (c.workload_attestors.empty()) c.workload_attestors.push_back(DefaultPlugin(WorkloadAttestors(), "unix"));
}

// trust_domain, server_address/port, socket_path, data_dir, logging.
void ReadEndpointKeys(config::Section& a, AgentConfig& c) {
  if (auto td = a.String("trust_domain")) {
    auto parsed = spiffe::TrustDomain::Parse(*td);
    if (parsed.ok()) {
      c.trust_domain = *parsed;
    } else {
      a.AddKeyError("trust_domain", std::string(parsed.status().message()));
    }
  }
  if (auto v = a.String("server_address")) c.server_address = *v;
  if (auto v = a.Int("server_port")) {
    if (*v <= 0 || *v > 65535) {
      a.AddKeyError("server_port", "must be between 1 and 65535");
    } else {
      c.server_port = static_cast<int>(*v);
    }
  }
  if (auto v = a.String("socket_path")) c.socket_path = *v;
  if (auto v = a.String("admin_socket_path")) c.admin_socket_path = *v;
  if (auto v = a.StringList("authorized_delegates")) {
    for (const std::string& id : *v) {
      auto parsed = spiffe::SpiffeId::Parse(id);
      if (!parsed.ok()) {
        a.AddKeyError("authorized_delegates", absl::StrCat("\"", id, "\": ", parsed.status().message()));
      } else {
        c.authorized_delegates.push_back(parsed->ToString());
      }
    }
  }
  if (auto v = a.String("data_dir")) c.data_dir = *v;
  if (auto v = a.String("log_level")) c.log_level = *v;
  if (auto v = a.String("log_format")) {
    if (!logging::CheckFormat(*v).ok()) a.AddKeyError("log_format", "want \"text\" or \"json\"");
    c.log_format = absl::AsciiStrToLower(*v);
  }
  if (auto v = a.String("log_file")) c.log_file = *v;
}

// Bootstrap trust and the join token.
void ReadBootstrapKeys(config::Section& a, AgentConfig& c) {
  if (auto v = a.String("trust_bundle_path")) c.trust_bundle_path = *v;
  if (auto v = a.String("trust_bundle_url")) c.trust_bundle_url = *v;
  if (auto v = a.String("trust_bundle_unix_socket")) c.trust_bundle_unix_socket = *v;
  if (auto v = a.String("trust_bundle_format")) c.trust_bundle_format = *v;
  if (auto v = a.Bool("insecure_bootstrap")) c.insecure_bootstrap = *v;
  if (auto v = a.String("join_token")) c.join_token = *v;
  if (auto v = a.String("join_token_file")) c.join_token_file = *v;
  // SPIRE v1.13's re-bootstrap (fetching a new bundle when the server's CA no longer chains to it) is not
  // implemented: "never", SPIRE's default and this agent's behaviour, is accepted; the others are refused.
  if (auto v = a.String("rebootstrap_mode"); v && *v != "never") {
    a.AddKeyError("rebootstrap_mode", absl::StrCat("\"", *v,
                                                   "\" is not supported: this agent never re-bootstraps (only "
                                                   "\"never\" is accepted); re-seed its trust bundle instead"));
  }
  if (auto v = a.Duration("rebootstrap_delay"); v && *v < absl::ZeroDuration()) {
    a.AddKeyError("rebootstrap_delay", "must not be negative");
  }
}

// Workload SVIDs and the sync loop.
void ReadSvidKeys(config::Section& a, AgentConfig& c) {
  if (auto v = a.String("workload_x509_svid_key_type")) {
    auto kt = crypto::ParseKeyType(*v);
    if (kt.ok()) {
      c.workload_key_type = *kt;
    } else {
      a.AddKeyError("workload_x509_svid_key_type", "want ec-p256, ec-p384, rsa-2048 or rsa-4096");
    }
  }
  if (auto v = a.Int("x509_svid_cache_max_size")) {
    if (*v < 0) {
      a.AddKeyError("x509_svid_cache_max_size", "must not be negative");
    } else {
      c.x509_svid_cache_max_size = *v == 0 ? 1000 : *v;
    }
  }
  if (auto v = a.Int("jwt_svid_cache_max_size")) {
    if (*v < 0) {
      a.AddKeyError("jwt_svid_cache_max_size", "must not be negative");
    } else {
      c.jwt_svid_cache_max_size = *v == 0 ? 1000 : *v;
    }
  }
  if (a.Has("availability_target")) {
    a.MarkKnown("availability_target");
    a.AddKeyError("availability_target",
                  "not supported: this agent renews X509-SVIDs at half of their lifetime and does not implement "
                  "SPIRE's availability-target rotation; remove the key or lengthen the SVID TTL");
  }
  if (auto exp = a.Child("experimental")) {
    if (auto d = exp->Duration("sync_interval")) {
      if (*d <= absl::ZeroDuration()) {
        exp->AddKeyError("sync_interval", "must be positive");
      } else {
        c.sync_interval = *d;
      }
    }
  }
}

// agent.sds { default_svid_name default_bundle_name default_all_bundles_name disable_spiffe_cert_validation }, as
// SPIRE reads it: an empty name keeps the default.
void ReadSdsKeys(config::Section& a, AgentConfig& c) {
  std::optional<config::Section> sds = a.Child("sds");
  if (!sds) return;
  if (auto v = sds->String("default_svid_name"); v && !v->empty()) c.sds.default_svid_name = *v;
  if (auto v = sds->String("default_bundle_name"); v && !v->empty()) c.sds.default_bundle_name = *v;
  if (auto v = sds->String("default_all_bundles_name"); v && !v->empty()) c.sds.default_all_bundles_name = *v;
  if (auto v = sds->Bool("disable_spiffe_cert_validation")) c.sds.disable_spiffe_cert_validation = *v;
  if (c.sds.default_bundle_name == c.sds.default_all_bundles_name) {
    // SPIRE v1.13 warns and goes on (Helm charts set both to ROOTCA): the own-bundle name wins.
    spdlog::warn(
        "agent.sds: default_bundle_name and default_all_bundles_name are both \"{}\"; default_all_bundles_name will "
        "be ignored",
        c.sds.default_bundle_name);
  }
}

// $SPIRECVM_AGENT_SYNC_INTERVAL (a Go duration) wins over the file.
absl::Status ApplyEnvSyncInterval(std::string_view env_sync_interval, AgentConfig& c) {
  if (env_sync_interval.empty()) return absl::OkStatus();
  auto d = ParseGoDuration(env_sync_interval);
  if (!d.ok() || *d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("$", kSyncIntervalEnv, ": invalid duration \"", std::string(env_sync_interval), "\""));
  }
  c.sync_interval = *d;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view filename,
                                             std::string_view env_sync_interval) {
  ASSIGN_OR_RETURN(const hcl::Body body, config::ParseConfigText(text, filename));
  AgentConfig c;
  c.filename = std::string(filename);
  config::Section root = config::Section::FromBody(body, "", c.filename);
  if (std::optional<config::Section> agent = root.Child("agent")) {
    ReadEndpointKeys(*agent, c);
    ReadBootstrapKeys(*agent, c);
    ReadSvidKeys(*agent, c);
    ReadSdsKeys(*agent, c);
  } else {
    root.AddError(root.pos(), "missing agent {} block");
  }
  // health_checks {} and telemetry {}: read as the server reads them (common/telemetry/config.h).
  if (auto hc = root.Child("health_checks")) telemetry::ParseHealthChecks(*hc, c.health_checks);
  if (auto tel = root.Child("telemetry")) telemetry::ParseTelemetry(*tel, c.telemetry);
  if (std::optional<config::Section> plugins = root.Child("plugins")) {
    ReadPlugins(*plugins, c);
  } else {
    root.AddError(root.pos(), "missing plugins {} block");
  }
  RETURN_IF_ERROR(root.Finish());
  RETURN_IF_ERROR(ApplyEnvSyncInterval(env_sync_interval, c));
  return c;
}

absl::Status ValidateAgentConfig(const AgentConfig& c) {
  std::vector<std::string> errs;
  if (c.trust_domain.empty()) errs.push_back("agent.trust_domain must be configured");
  if (c.server_address.empty()) errs.push_back("agent.server_address must be configured");
  if (c.data_dir.empty()) errs.push_back("agent.data_dir must be configured");
  if (c.socket_path.empty()) errs.push_back("agent.socket_path must not be empty");
  if (!c.admin_socket_path.empty()) {
    absl::Status placed = adminapi::CheckAdminSocketPlacement(c.admin_socket_path, c.socket_path);
    if (!placed.ok()) errs.push_back(absl::StrCat("agent.admin_socket_path: ", placed.message()));
  }
  int sources =
      (c.trust_bundle_path.empty() ? 0 : 1) + (c.trust_bundle_url.empty() ? 0 : 1) + (c.insecure_bootstrap ? 1 : 0);
  if (sources == 0) {
    errs.push_back(
        "exactly one bootstrap source is required: agent.trust_bundle_path, agent.trust_bundle_url or "
        "agent.insecure_bootstrap");
  } else if (sources > 1) {
    errs.push_back(
        "only one bootstrap source may be set: agent.trust_bundle_path, agent.trust_bundle_url or "
        "agent.insecure_bootstrap");
  }
  if (!c.trust_bundle_url.empty()) {
    absl::Status url = CheckBundleUrl(c.trust_bundle_url, c.trust_bundle_unix_socket);
    if (!url.ok()) errs.push_back(absl::StrCat("agent.trust_bundle_url: ", url.message()));
  } else if (!c.trust_bundle_unix_socket.empty()) {
    errs.push_back("agent.trust_bundle_unix_socket is only used with agent.trust_bundle_url");
  }
  if (c.trust_bundle_format != "pem" && c.trust_bundle_format != "spiffe") {
    errs.push_back(
        absl::StrCat("agent.trust_bundle_format: unknown format \"", c.trust_bundle_format, "\" (want pem or spiffe)"));
  }
  if (c.node_attestor.name == "join_token" && c.join_token.empty()) {
    errs.push_back("NodeAttestor \"join_token\" needs agent.join_token (or -joinToken)");
  }
  if (!c.join_token.empty() && c.node_attestor.name != "join_token") {
    errs.push_back(absl::StrCat("agent.join_token is set but the NodeAttestor is \"", c.node_attestor.name, "\""));
  }
  if (!errs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.filename.empty() ? "" : c.filename + ": ", absl::StrJoin(errs, "\n")));
  }
  return absl::OkStatus();
}

absl::Status ResolveJoinTokenFile(AgentConfig& c) {
  if (c.join_token_file.empty()) return absl::OkStatus();
  if (!c.join_token.empty()) {
    return absl::InvalidArgumentError("agent.join_token and agent.join_token_file cannot both be set");
  }
  absl::StatusOr<std::string> text = files::ReadFile(c.join_token_file);
  if (!text.ok()) return Annotate(text.status(), absl::StrCat("agent.join_token_file \"", c.join_token_file, "\""));
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("agent.join_token_file \"", c.join_token_file, "\" is empty"));
  }
  c.join_token = std::move(token);
  return absl::OkStatus();
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, std::string_view env_sync_interval) {
  ASSIGN_OR_RETURN(const std::string text, files::ReadFile(path));
  return ParseAgentConfig(text, path, env_sync_interval);
}

NodeAttestorDeps NodeAttestorDepsFor(const AgentConfig& c) { return NodeAttestorDeps{c.join_token}; }

KeyManagerDeps KeyManagerDepsFor(const AgentConfig& c) { return KeyManagerDeps{c.data_dir}; }

}  // namespace spirecvm::agent
