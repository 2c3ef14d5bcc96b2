// libFuzzer target: the JSON configuration reader (config::ParseJson, SPIRE's Helm-rendered server.conf/agent.conf)
// and the strict reader on the tree it builds, walked the way the configuration code reads it: every key as each
// type, every child section, blocks with and without labels peeled from nested objects (plugins, federates_with),
// then Finish(). The same bytes go through -expandEnv's expansion, which must never grow past what the lookup
// allows nor touch text without a '$'.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config_reader.h"
#include "common/expand_env.h"
#include "common/json_config.h"
#include "fuzz_util.h"

namespace {

namespace hcl = spirecvm::hcl;
namespace config = spirecvm::config;

void Walk(config::Section s, int depth) {
  if (depth > 8) return;
  for (const std::string& key : s.Keys()) {
    (void)s.Has(key);
    (void)s.String(key);
    (void)s.Int(key);
    (void)s.Bool(key);
    (void)s.Duration(key);
    (void)s.StringList(key);
    (void)s.Raw(key);
    if (auto child = s.Child(key)) Walk(*child, depth + 1);
    for (auto& [labels, block] : s.Blocks(key, depth % 2 == 0 ? 1 : 2)) Walk(block, depth + 1);
  }
}

void CheckExpand(std::string_view text) {
  std::string out = config::ExpandEnv(text, [](const std::string&) -> std::optional<std::string> { return "xy"; });
  // Each '$' consumes at least itself and yields at most the two-character value (or one '$').
  if (out.size() > text.size() * 2 + 2) spirecvm::fuzz::Fail("expansion grew beyond its values");
  if (text.find('$') == std::string_view::npos && out != text) spirecvm::fuzz::Fail("text without '$' changed");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spirecvm::fuzz::WriteSeed("helm-server", R"({
  "server": {"bind_address": "0.0.0.0", "bind_port": "8081", "trust_domain": "example.org",
    "ca_subject": [{"country": ["US"], "organization": ["SPIFFE"], "common_name": ""}],
    "federation": {"bundle_endpoint": [{"address": "0.0.0.0", "port": 8443}],
      "federates_with": {"other.org": {"bundle_endpoint_url": "https://o:8443",
        "bundle_endpoint_profile": {"https_spiffe": {"endpoint_spiffe_id": "spiffe://other.org/spire/server"}}}}}},
  "plugins": {"DataStore": [{"sql": {"plugin_data": {"database_type": "sqlite3"}}}],
    "KeyManager": [{"memory": {"plugin_data": null}}]},
  "health_checks": {"listener_enabled": true, "bind_port": "8080"},
  "telemetry": [{"Prometheus": [{"host": "0.0.0.0", "port": 9988}]}]
})");
  spirecvm::fuzz::WriteSeed("escapes", R"({"a\"b": "\u00e9\n", "n": [1.5e3, -0, 18446744073709551616], "x": {}})");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = spirecvm::fuzz::AsView(data, size);
  CheckExpand(text);
  auto body = config::ParseJson(text, "fuzz.json");
  if (!body.ok()) {
    if (body.status().message().substr(0, 10) != "fuzz.json:") spirecvm::fuzz::Fail("error does not name the file");
    return 0;
  }
  config::Section root = config::Section::FromBody(*body, "", "fuzz.json");
  Walk(root, 0);
  (void)root.Finish();
  return 0;
}
