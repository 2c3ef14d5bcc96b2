// libFuzzer target: the agent's configuration reader (ParseAgentConfig: HCL, then every agent key, the plugin
// declarations and the rules about them). Seeded with conf/agent/agent.conf.
//
// The real plugin catalog (src/agent/catalog.cc) links every agent plugin and, through them, gRPC; the registries
// below have the same plugin names, and their parse step reads plugin_data as a free-form section without type
// rules. The plugins' own plugin_data readers are config::Section reads, which hcl_fuzz exercises on any document.
#include <cstddef>
#include <cstdint>

#include "agent/catalog.h"
#include "agent/config/agent_config.h"
#include "fuzz_util.h"

namespace spirecvm::agent {
namespace {

struct AnyConfig {};
AnyConfig ReadAny(config::Section& data) {
  for (const std::string& key : data.Keys()) data.MarkKnown(key);
  return {};
}
template <typename P, typename D>
absl::StatusOr<std::unique_ptr<P>> NotBuilt(const AnyConfig&, const D&) {
  return absl::UnimplementedError("plugins are not built in the fuzzer");
}
template <typename P, typename D>
plugin::PluginType<P, D> Named(std::string name) {
  return plugin::Plugin<P, D>(std::move(name), ReadAny, NotBuilt<P, D>);
}

}  // namespace

const NodeAttestorRegistry& NodeAttestors() {
  using P = NodeAttestorClient;
  using D = NodeAttestorDeps;
  static const NodeAttestorRegistry r{"NodeAttestor", {Named<P, D>("join_token"), Named<P, D>("aws_iid")}};
  return r;
}
const KeyManagerRegistry& KeyManagers() {
  static const KeyManagerRegistry r{
      "KeyManager", {Named<KeyManager, KeyManagerDeps>("disk"), Named<KeyManager, KeyManagerDeps>("memory")}};
  return r;
}
const WorkloadAttestorRegistry& WorkloadAttestors() {
  static const WorkloadAttestorRegistry r{"WorkloadAttestor", {Named<WorkloadAttestor, WorkloadAttestorDeps>("unix")}};
  return r;
}

}  // namespace spirecvm::agent

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)spirecvm::agent::ParseAgentConfig(spirecvm::fuzz::AsView(data, size), "agent.conf", "");
  return 0;
}
