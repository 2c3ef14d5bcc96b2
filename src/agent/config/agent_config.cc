#include "agent/config/agent_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/nodeattest/aws_iid.h"
#include "common/config_reader.h"
#include "common/duration.h"
#include "common/files.h"

namespace spirecvm::agent {
namespace {

// Reads the plugins {} section. Each kind may appear once per name; the agent needs exactly one NodeAttestor
// and one KeyManager.
void ReadPlugins(config::Section& plugins, AgentConfig& c) {
  bool have_node_attestor = false;
  bool have_key_manager = false;
  for (const std::string& kind : plugins.Keys()) {
    auto blocks = plugins.Blocks(kind);
    for (auto& [labels, section] : blocks) {
      if (labels.size() != 1) {
        section.AddError(section.pos(), absl::StrCat("plugin block ", kind, " needs exactly one name label"));
        continue;
      }
      const std::string& name = labels[0];
      std::optional<hcl::Value> data = section.Raw("plugin_data");
      section.MarkKnown("enabled");
      if (auto enabled = section.Bool("enabled"); enabled.has_value() && !*enabled) continue;
      if (kind == "NodeAttestor") {
        if (have_node_attestor) {
          section.AddError(section.pos(), "only one NodeAttestor may be configured");
          continue;
        }
        have_node_attestor = true;
        c.node_attestor = PluginConfig{name, data, section.pos()};
        if (name == "join_token") {
          if (data.has_value() && data->kind == hcl::Value::Kind::kObject && !data->object.empty()) {
            section.AddError(data->pos, "NodeAttestor \"join_token\" takes no plugin_data");
          }
        }
        if (name == "aws_iid") ValidateAwsIidPluginData(section, data, c.filename);
        // Other attestors (aws_iid, ...) parse their own plugin_data when they are built.
      } else if (kind == "KeyManager") {
        if (have_key_manager) {
          section.AddError(section.pos(), "only one KeyManager may be configured");
          continue;
        }
        have_key_manager = true;
        if (name != "disk" && name != "memory") {
          section.AddError(section.pos(), absl::StrCat("unknown KeyManager \"", name, "\" (want disk or memory)"));
          continue;
        }
        c.key_manager = name;
        if (data.has_value()) {
          if (data->kind != hcl::Value::Kind::kObject) {
            section.AddError(data->pos, "plugin_data must be a block");
            continue;
          }
          config::Section pd = config::Section::FromObject(*data, section.path() + ".plugin_data", c.filename);
          if (name == "disk") {
            if (auto dir = pd.String("directory")) c.key_manager_directory = *dir;
          }
          if (absl::Status st = pd.Finish(); !st.ok()) section.AddError(data->pos, std::string(st.message()));
        }
      } else if (kind == "WorkloadAttestor") {
        if (name != "unix") {
          section.AddError(section.pos(), absl::StrCat("unknown WorkloadAttestor \"", name, "\" (supported: unix)"));
          continue;
        }
        UnixAttestorConfig u;
        if (data.has_value()) {
          if (data->kind != hcl::Value::Kind::kObject) {
            section.AddError(data->pos, "plugin_data must be a block");
            continue;
          }
          config::Section pd = config::Section::FromObject(*data, section.path() + ".plugin_data", c.filename);
          if (auto v = pd.Bool("discover_workload_path")) u.discover_workload_path = *v;
          if (auto v = pd.Int("workload_size_limit")) u.workload_size_limit = *v;
          if (absl::Status st = pd.Finish(); !st.ok()) section.AddError(data->pos, std::string(st.message()));
        }
        c.unix_attestor = u;
      } else {
        section.AddError(section.pos(), absl::StrCat("unknown plugin kind \"", kind,
                                                     "\" (agent supports NodeAttestor, KeyManager, WorkloadAttestor)"));
      }
    }
  }
  if (!have_node_attestor) plugins.AddError(plugins.pos(), "a NodeAttestor plugin must be configured");
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view filename,
                                             std::string_view env_sync_interval) {
  absl::StatusOr<hcl::Body> body = hcl::Parse(text, filename);
  if (!body.ok()) return body.status();
  AgentConfig c;
  c.filename = std::string(filename);
  config::Section root = config::Section::FromBody(*body, "", c.filename);
  std::optional<config::Section> agent = root.Child("agent");
  if (!agent.has_value()) {
    root.AddError(root.pos(), "missing agent {} block");
  } else {
    config::Section& a = *agent;
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
    if (auto v = a.String("data_dir")) c.data_dir = *v;
    if (auto v = a.String("log_level")) c.log_level = *v;
    if (auto v = a.String("log_format")) {
      if (absl::AsciiStrToLower(*v) != "text") a.AddKeyError("log_format", "only \"text\" is supported");
    }
    if (auto v = a.String("trust_bundle_path")) c.trust_bundle_path = *v;
    if (a.Has("trust_bundle_url")) {
      a.MarkKnown("trust_bundle_url");
      a.AddKeyError("trust_bundle_url", "not supported; use trust_bundle_path");
    }
    if (auto v = a.String("trust_bundle_format")) c.trust_bundle_format = *v;
    if (auto v = a.Bool("insecure_bootstrap")) c.insecure_bootstrap = *v;
    if (auto v = a.String("join_token")) c.join_token = *v;
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
  // telemetry {} and health_checks {} are accepted for compatibility with SPIRE files and ignored.
  root.MarkKnown("telemetry");
  root.MarkKnown("health_checks");
  std::optional<config::Section> plugins = root.Child("plugins");
  if (!plugins.has_value()) {
    root.AddError(root.pos(), "missing plugins {} block");
  } else {
    ReadPlugins(*plugins, c);
  }
  if (absl::Status st = root.Finish(); !st.ok()) return st;
  if (!env_sync_interval.empty()) {
    auto d = ParseGoDuration(env_sync_interval);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("$", kSyncIntervalEnv, ": invalid duration \"", std::string(env_sync_interval), "\""));
    }
    c.sync_interval = *d;
  }
  if (c.key_manager_directory.empty()) c.key_manager_directory = c.data_dir;
  return c;
}

absl::Status ValidateAgentConfig(const AgentConfig& c) {
  std::vector<std::string> errs;
  if (c.trust_domain.empty()) errs.push_back("agent.trust_domain must be configured");
  if (c.server_address.empty()) errs.push_back("agent.server_address must be configured");
  if (c.data_dir.empty()) errs.push_back("agent.data_dir must be configured");
  if (c.socket_path.empty()) errs.push_back("agent.socket_path must not be empty");
  int sources = (c.trust_bundle_path.empty() ? 0 : 1) + (c.insecure_bootstrap ? 1 : 0);
  if (sources == 0) {
    errs.push_back("exactly one bootstrap source is required: agent.trust_bundle_path or agent.insecure_bootstrap");
  } else if (sources > 1) {
    errs.push_back("only one bootstrap source may be set: agent.trust_bundle_path or agent.insecure_bootstrap");
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

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, std::string_view env_sync_interval) {
  absl::StatusOr<std::string> text = files::ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseAgentConfig(*text, path, env_sync_interval);
}

}  // namespace spirecvm::agent
