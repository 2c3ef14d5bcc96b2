// libFuzzer target: the HCL parser (server and agent configuration files, plugin_data) and the typed reader on top
// of it (config::Section). Every parsed document is walked the way the configuration code reads it: every key as
// each type, every child section and labelled block recursively, then Finish() (which reports every error at once).
// SPIRE's HCL1 also reads JSON configuration, so JSON documents are among the seeds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config_reader.h"
#include "common/hcl.h"
#include "fuzz_util.h"

namespace {

namespace hcl = spirecvm::hcl;
namespace config = spirecvm::config;

void Walk(config::Section s, int depth) {
  if (depth > 8) return;
  for (const std::string& key : s.Keys()) {
    (void)s.Has(key);
    (void)s.PosOf(key);
    (void)s.String(key);
    (void)s.Int(key);
    (void)s.Bool(key);
    (void)s.Duration(key);
    (void)s.StringList(key);
    (void)s.Raw(key);
    if (auto child = s.Child(key)) Walk(*child, depth + 1);
    for (auto& [labels, block] : s.Blocks(key)) Walk(block, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spirecvm::fuzz::WriteSeed("json", R"({"server": {"bind_port": 8081, "trust_domain": "example.org",
    "ca_ttl": "24h", "federates_with": ["a", "b"]}, "plugins": {"DataStore": {"sql": {"plugin_data": {"x": true}}}}})");
  spirecvm::fuzz::WriteSeed("heredoc", "a = <<EOT\nline\nEOT\nb \"l\" { c = [1, 2.5e3, \"\\u00e9\"] /* c */ } # end\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = hcl::Parse(spirecvm::fuzz::AsView(data, size), "fuzz.conf");
  if (!body.ok()) {
    if (body.status().message().substr(0, 10) != "fuzz.conf:") spirecvm::fuzz::Fail("error does not name the file");
    return 0;
  }
  config::Section root = config::Section::FromBody(*body, "", "fuzz.conf");
  Walk(root, 0);
  (void)root.Finish();
  return 0;
}
