#include "server/config/server_config.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace spirecvm::server {
namespace {

const std::set<std::string>& KnownPlugins(const std::string& kind) {
  static const std::map<std::string, std::set<std::string>> known = {
      {"DataStore", {"sql"}},
      {"KeyManager", {"disk", "memory"}},
      {"NodeAttestor", {"join_token", "aws_iid"}},
      {"UpstreamAuthority", {"disk"}},
  };
  static const std::set<std::string> none;
  auto it = known.find(kind);
  return it == known.end() ? none : it->second;
}

}  // namespace

const PluginDecl* ServerConfig::Find(std::string_view kind) const {
  for (auto& p : plugins)
    if (p.kind == kind) return &p;
  return nullptr;
}

std::vector<const PluginDecl*> ServerConfig::FindAll(std::string_view kind) const {
  std::vector<const PluginDecl*> out;
  for (auto& p : plugins)
    if (p.kind == kind) out.push_back(&p);
  return out;
}

absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view text, const std::string& filename) {
  auto body = hcl::Parse(text, filename);
  if (!body.ok()) return body.status();
  ServerConfig cfg;
  cfg.doc = std::make_shared<hcl::Body>(std::move(*body));
  cfg.root = config::Section::FromBody(*cfg.doc, "", filename);
  config::Section& root = *cfg.root;

  auto server = root.Child("server");
  if (!server) {
    root.AddError({1, 1}, "missing the server { ... } block");
    return root.Finish();
  }
  if (auto v = server->String("trust_domain")) {
    auto td = spiffe::TrustDomain::Parse(*v);
    if (!td.ok()) {
      server->AddKeyError("trust_domain", absl::StrCat("invalid trust_domain \"", *v, "\": ", td.status().message()));
    } else {
      cfg.trust_domain = *td;
    }
  } else {
    server->AddError(server->pos(), "trust_domain is required");
  }
  if (auto v = server->String("bind_address")) cfg.bind_address = *v;
  if (auto v = server->Int("bind_port")) {
    if (*v < 0 || *v > 65535) server->AddKeyError("bind_port", absl::StrCat("bind_port ", *v, " is not a port number"));
    cfg.bind_port = static_cast<int>(*v);
  }
  if (auto v = server->String("socket_path")) cfg.socket_path = *v;
  if (auto v = server->String("data_dir")) cfg.data_dir = *v;
  if (auto v = server->String("log_level")) {
    std::string up = *v;
    absl::AsciiStrToUpper(&up);
    if (up != "DEBUG" && up != "INFO" && up != "WARN" && up != "ERROR") {
      server->AddKeyError("log_level", absl::StrCat("log_level \"", *v, "\" is not one of DEBUG, INFO, WARN, ERROR"));
    }
    cfg.log_level = up;
  }
  auto positive = [&](std::string_view key, absl::Duration* out) {
    if (auto v = server->Duration(key)) {
      if (*v <= absl::ZeroDuration()) {
        server->AddKeyError(key, std::string(key) + " must be positive");
      } else {
        *out = *v;
      }
    }
  };
  positive("ca_ttl", &cfg.ca_ttl);
  positive("default_x509_svid_ttl", &cfg.default_x509_svid_ttl);
  positive("default_jwt_svid_ttl", &cfg.default_jwt_svid_ttl);
  positive("agent_ttl", &cfg.agent_ttl);
  auto key_type = [&](std::string_view key, crypto::KeyType* out) {
    if (auto v = server->String(key)) {
      auto kt = crypto::ParseKeyType(*v);
      if (!kt.ok()) {
        server->AddKeyError(key,
                            std::string(key) + " \"" + *v + "\" is not one of ec-p256, ec-p384, rsa-2048, rsa-4096");
      } else {
        *out = *kt;
      }
    }
  };
  key_type("ca_key_type", &cfg.ca_key_type);
  key_type("jwt_key_type", &cfg.jwt_key_type);
  if (auto subj = server->Child("ca_subject")) {
    if (auto v = subj->StringList("country"); v && !v->empty()) cfg.ca_subject_country = (*v)[0];
    if (auto v = subj->StringList("organization"); v && !v->empty()) cfg.ca_subject_org = (*v)[0];
    if (auto v = subj->String("common_name")) cfg.ca_subject_cn = *v;
  }
  if (auto v = server->String("jwt_issuer")) cfg.jwt_issuer = *v;
  if (auto exp = server->Child("experimental")) {
    if (auto v = exp->Duration("cache_reload_interval")) cfg.cache_refresh_interval = *v;
  }

  if (auto hc = root.Child("health_checks")) {
    if (auto v = hc->Bool("listener_enabled")) cfg.health_checks.listener_enabled = *v;
    if (auto v = hc->String("bind_address")) cfg.health_checks.bind_address = *v;
    if (auto v = hc->Int("bind_port")) cfg.health_checks.bind_port = static_cast<int>(*v);
    if (auto v = hc->String("live_path")) cfg.health_checks.live_path = *v;
    if (auto v = hc->String("ready_path")) cfg.health_checks.ready_path = *v;
  }

  if (auto tel = root.Child("telemetry")) {
    if (auto prom = tel->Child("Prometheus")) {
      cfg.telemetry.prometheus = true;
      if (auto v = prom->String("host")) cfg.telemetry.prometheus_host = *v;
      if (auto v = prom->Int("port")) {
        if (*v <= 0 || *v > 65535) prom->AddKeyError("port", absl::StrCat("port ", *v, " is not a port number"));
        cfg.telemetry.prometheus_port = static_cast<int>(*v);
      }
    }
  }

  auto plugins = root.Child("plugins");
  if (!plugins) {
    root.AddError({1, 1}, "missing the plugins { ... } block");
  } else {
    for (const std::string& kind : plugins->Keys()) {
      const auto& names = KnownPlugins(kind);
      auto blocks = plugins->Blocks(kind);
      if (names.empty()) {
        plugins->AddKeyError(kind, absl::StrCat("unknown plugin type \"", kind,
                                                "\" (known: DataStore, KeyManager, NodeAttestor, UpstreamAuthority)"));
        continue;
      }
      for (auto& [labels, section] : blocks) {
        if (labels.size() != 1) {
          section.AddError(section.pos(), absl::StrCat(kind, " needs exactly one name label, e.g. ", kind, " \"",
                                                       *names.begin(), "\" { ... }"));
          continue;
        }
        if (!names.count(labels[0])) {
          section.AddError(section.pos(), absl::StrCat("unknown ", kind, " plugin \"", labels[0],
                                                       "\" (known: ", absl::StrJoin(names, ", "), ")"));
          continue;
        }
        static const hcl::Body kEmptyBody;  // plugin_data absent: an empty section that outlives every config
        PluginDecl d{kind, labels[0], config::Section::FromBody(kEmptyBody, "", filename), section.pos()};
        if (auto data = section.Child("plugin_data")) d.data = *data;
        if (auto en = section.Bool("enabled"); en && !*en) continue;
        section.String("plugin_cmd");  // accepted for SPIRE compatibility; built-in plugins only
        section.String("plugin_checksum");
        cfg.plugins.push_back(std::move(d));
      }
    }
    for (const char* required : {"DataStore", "KeyManager"}) {
      if (cfg.FindAll(required).size() != 1) {
        plugins->AddError(plugins->pos(), absl::StrCat("exactly one ", required, " plugin must be configured"));
      }
    }
    if (cfg.FindAll("NodeAttestor").empty())
      plugins->AddError(plugins->pos(), "at least one NodeAttestor plugin must be configured");
    if (cfg.FindAll("UpstreamAuthority").size() > 1)
      plugins->AddError(plugins->pos(), "at most one UpstreamAuthority plugin");
  }
  return cfg;
}

}  // namespace spirecvm::server
