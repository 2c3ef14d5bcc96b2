#include "server/config/server_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/json_config.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/strings.h"
#include "server/datastore/datastore.h"

namespace spirecvm::server {
namespace {

void ParseTrustDomain(config::Section& server, const ServerFlagOverrides& flags, ServerConfig& cfg) {
  auto v = server.String("trust_domain");
  if (!flags.trust_domain.empty()) {
    auto td = spiffe::TrustDomain::Parse(flags.trust_domain);
    if (!td.ok()) {
      server.AddError(server.pos(),
                      absl::StrCat("-trustDomain \"", flags.trust_domain, "\" is invalid: ", td.status().message()));
      return;
    }
    cfg.trust_domain = *td;
    return;
  }
  if (!v) {
    server.AddError(server.pos(), "trust_domain is required");
    return;
  }
  auto td = spiffe::TrustDomain::Parse(*v);
  if (!td.ok()) {
    server.AddKeyError("trust_domain", absl::StrCat("invalid trust_domain \"", *v, "\": ", td.status().message()));
    return;
  }
  cfg.trust_domain = *td;
}

// Where the server listens and keeps its files, and how much it logs.
void ParseEndpoints(config::Section& server, ServerConfig& cfg) {
  if (auto v = server.String("bind_address")) cfg.bind_address = *v;
  if (auto v = server.Int("bind_port")) {
    if (*v < 0 || *v > 65535) server.AddKeyError("bind_port", absl::StrCat("bind_port ", *v, " is not a port number"));
    cfg.bind_port = static_cast<int>(*v);
  }
  if (auto v = server.String("socket_path")) cfg.socket_path = *v;
  if (auto v = server.String("data_dir")) cfg.data_dir = *v;
  if (auto v = server.String("log_level")) {
    std::string up = absl::AsciiStrToUpper(*v);
    if (up != "DEBUG" && up != "INFO" && up != "WARN" && up != "ERROR") {
      server.AddKeyError("log_level", absl::StrCat("log_level \"", *v, "\" is not one of DEBUG, INFO, WARN, ERROR"));
    }
    cfg.log_level = up;
  }
  if (auto v = server.String("log_format")) {
    if (absl::Status st = logging::CheckFormat(*v); !st.ok()) {
      server.AddKeyError("log_format", absl::StrCat("log_format \"", *v, "\" is not one of text, json"));
    }
    cfg.log_format = absl::AsciiStrToLower(*v);
  }
  if (auto v = server.String("log_file")) cfg.log_file = *v;
}

// The node cache follows the datastore's node events, which the server keeps for an hour: a record older than
// that could have missed a pruned event, so the staleness must stay under it.
void ParseNodeStaleness(config::Section& server, ServerConfig& cfg) {
  auto v = server.Duration("max_attested_node_info_staleness");
  if (!v) return;
  if (*v >= datastore::kEventRetention) {  // negative durations: refused by the reader
    server.AddKeyError(
        "max_attested_node_info_staleness",
        absl::StrCat("max_attested_node_info_staleness must be under ",
                     absl::FormatDuration(datastore::kEventRetention), " (how long node events are kept)"));
    return;
  }
  cfg.max_attested_node_info_staleness = *v;
}

// Housekeeping and feature switches SPIRE has at the top of server {}.
void ParseSwitches(config::Section& server, ServerConfig& cfg) {
  if (auto v = server.Duration("prune_attested_nodes_expired_for")) {
    if (*v <= absl::ZeroDuration()) {
      server.AddKeyError("prune_attested_nodes_expired_for", "prune_attested_nodes_expired_for must be positive");
    } else {
      cfg.prune_attested_nodes_expired_for = *v;
    }
  }
  if (auto v = server.Bool("prune_tofu_nodes")) cfg.prune_tofu_nodes = *v;
  if (auto v = server.Bool("disable_jwt_svids")) cfg.disable_jwt_svids = *v;
  ParseNodeStaleness(server, cfg);
}

void PositiveDuration(config::Section& server, std::string_view key, absl::Duration* out) {
  auto v = server.Duration(key);
  if (!v) return;
  if (*v <= absl::ZeroDuration()) {
    server.AddKeyError(key, absl::StrCat(ToAbsl(key), " must be positive"));
    return;
  }
  *out = *v;
}

void KeyType(config::Section& server, std::string_view key, crypto::KeyType* out) {
  auto v = server.String(key);
  if (!v) return;
  auto kt = crypto::ParseKeyType(*v);
  if (!kt.ok()) {
    server.AddKeyError(key,
                       absl::StrCat(ToAbsl(key), " \"", *v, "\" is not one of ec-p256, ec-p384, rsa-2048, rsa-4096"));
    return;
  }
  *out = *kt;
}

// The CA's keys, lifetimes and subject, and the SVID lifetimes it signs with.
void ParseCa(config::Section& server, ServerConfig& cfg) {
  PositiveDuration(server, "ca_ttl", &cfg.ca_ttl);
  PositiveDuration(server, "default_x509_svid_ttl", &cfg.default_x509_svid_ttl);
  PositiveDuration(server, "default_jwt_svid_ttl", &cfg.default_jwt_svid_ttl);
  PositiveDuration(server, "agent_ttl", &cfg.agent_ttl);
  KeyType(server, "ca_key_type", &cfg.ca_key_type);
  KeyType(server, "jwt_key_type", &cfg.jwt_key_type);
  if (auto subj = server.Child("ca_subject")) {
    if (auto v = subj->StringList("country"); v && !v->empty()) cfg.ca_subject_country = (*v)[0];
    if (auto v = subj->StringList("organization"); v && !v->empty()) cfg.ca_subject_org = (*v)[0];
    if (auto v = subj->String("common_name")) cfg.ca_subject_cn = *v;
  }
  if (auto v = server.String("jwt_issuer")) cfg.jwt_issuer = *v;
}

// SPIFFE IDs (of any trust domain) whose X509-SVID callers may call the admin APIs over TLS, as SPIRE's admin_ids.
void ParseAdminIds(config::Section& server, ServerConfig& cfg) {
  auto v = server.StringList("admin_ids");
  if (!v) return;
  for (const auto& s : *v) {
    auto id = spiffe::SpiffeId::Parse(s);
    if (!id.ok()) {
      server.AddKeyError("admin_ids", absl::StrCat("could not parse admin ID \"", s, "\": ", id.status().message()));
      continue;
    }
    cfg.admin_ids.push_back(id->ToString());
  }
}

// Command-line flags win over the keys ParseEndpoints read; checked the same way, errors name the flag.
void ApplyFlags(config::Section& server, const ServerFlagOverrides& flags, ServerConfig& cfg) {
  if (!flags.bind_address.empty()) cfg.bind_address = flags.bind_address;
  if (flags.bind_port != 0) {
    if (flags.bind_port < 0 || flags.bind_port > 65535) {
      server.AddError(server.pos(), absl::StrCat("-serverPort ", flags.bind_port, " is not a port number"));
    }
    cfg.bind_port = static_cast<int>(flags.bind_port);
  }
  if (!flags.data_dir.empty()) cfg.data_dir = flags.data_dir;
  if (!flags.socket_path.empty()) cfg.socket_path = flags.socket_path;
  if (!flags.log_file.empty()) cfg.log_file = flags.log_file;
  if (!flags.log_format.empty()) {
    if (!logging::CheckFormat(flags.log_format).ok()) {
      server.AddError(server.pos(), absl::StrCat("-logFormat \"", flags.log_format, "\" is not one of text, json"));
    }
    cfg.log_format = absl::AsciiStrToLower(flags.log_format);
  }
  if (!flags.log_level.empty()) {
    std::string up = absl::AsciiStrToUpper(flags.log_level);
    if (up != "DEBUG" && up != "INFO" && up != "WARN" && up != "ERROR") {
      server.AddError(server.pos(),
                      absl::StrCat("-logLevel \"", flags.log_level, "\" is not one of DEBUG, INFO, WARN, ERROR"));
    }
    cfg.log_level = up;
  }
}

void ParseServerBlock(config::Section& server, const ServerFlagOverrides& flags, ServerConfig& cfg) {
  ParseTrustDomain(server, flags, cfg);
  ParseAdminIds(server, cfg);
  ParseEndpoints(server, cfg);
  ApplyFlags(server, flags, cfg);
  ParseCa(server, cfg);
  ParseSwitches(server, cfg);
  if (auto exp = server.Child("experimental")) {
    if (auto v = exp->Duration("cache_reload_interval")) cfg.cache_refresh_interval = *v;
  }
  if (auto v = server.Bool("audit_log_enabled")) cfg.audit_log_enabled = *v;
  if (auto rl = server.Child("ratelimit")) {
    if (auto v = rl->Bool("attestation")) cfg.ratelimit_attestation = *v;
    if (auto v = rl->Bool("signing")) cfg.ratelimit_signing = *v;
  }
  PositiveDuration(server, "attestation_step_timeout", &cfg.attestation_step_timeout);
  if (auto fed = server.Child("federation")) ParseFederation(*fed, cfg.trust_domain, cfg.federation);
}

// Collects every enabled `Kind "name" { ... }` block; the catalog judges kinds and names.
void ParsePluginDecls(config::Section& plugins, const std::string& filename, ServerConfig& cfg) {
  static const hcl::Body kEmptyBody;  // plugin_data absent: an empty section that outlives every config
  for (const std::string& kind : plugins.Keys()) {
    for (auto& [labels, block] : plugins.Blocks(kind, 1)) {
      if (labels.size() != 1) {
        block.AddError(block.pos(),
                       absl::StrCat(kind, " needs exactly one name label, e.g. ", kind, " \"<name>\" { ... }"));
        continue;
      }
      PluginDecl d{kind, labels[0], block, config::Section::FromBody(kEmptyBody, "", filename), block.pos()};
      if (auto data = block.Child("plugin_data")) d.data = *data;
      if (auto en = block.Bool("enabled"); en && !*en) {
        for (const std::string& key : d.data.Keys()) d.data.MarkKnown(key);  // not loaded: its data is not read
        continue;
      }
      block.String("plugin_cmd");  // accepted for SPIRE compatibility; built-in plugins only
      block.String("plugin_checksum");
      cfg.plugins.push_back(std::move(d));
    }
  }
}

}  // namespace

const PluginDecl* ServerConfig::Find(std::string_view kind) const {
  for (auto& p : plugins)
    if (p.kind == kind) return &p;
  return nullptr;
}

absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view text, const std::string& filename,
                                               const ServerFlagOverrides& flags) {
  ASSIGN_OR_RETURN(hcl::Body body, config::ParseConfigText(text, filename));
  ServerConfig cfg;
  cfg.doc = std::make_shared<hcl::Body>(std::move(body));
  cfg.root = config::Section::FromBody(*cfg.doc, "", filename);
  config::Section& root = *cfg.root;

  auto server = root.Child("server");
  if (!server) {
    root.AddError({1, 1}, "missing the server { ... } block");
    return root.Finish();
  }
  ParseServerBlock(*server, flags, cfg);
  if (auto hc = root.Child("health_checks")) telemetry::ParseHealthChecks(*hc, cfg.health_checks);
  if (auto tel = root.Child("telemetry")) telemetry::ParseTelemetry(*tel, cfg.telemetry);
  if (auto plugins = root.Child("plugins")) {
    cfg.plugins_block = *plugins;
    ParsePluginDecls(*plugins, filename, cfg);
  } else {
    root.AddError({1, 1}, "missing the plugins { ... } block");
  }
  return cfg;
}

}  // namespace spirecvm::server
