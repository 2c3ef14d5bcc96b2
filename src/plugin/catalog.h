// The plugin catalog shared by the server and the agent, after SPIRE's catalog: each plugin kind
// (DataStore, KeyManager, NodeAttestor, UpstreamAuthority, WorkloadAttestor, report provider, ...)
// has one Registry, and a built-in plugin is one line in it:
//
//   Registry<KeyManager, KeyManagerDeps> KeyManagers() {
//     return {"KeyManager", {Plugin<KeyManager, KeyManagerDeps>("disk", ParseDiskConfig, BuildDisk),
//                            Plugin<KeyManager, KeyManagerDeps>("memory", ParseMemoryConfig, BuildMemory)}};
//   }
//
// Loading is two-phase, like SPIRE's: Parse() reads plugin_data through the strict config::Section
// reader (type errors and unknown keys land in the section's error list, reported all at once by the
// root's Finish()) and returns a Builder holding the typed configuration; Build runs later, once the
// whole file is known to be valid, with the dependencies the plugin needs.
//
// Thread-safety: a Registry is immutable after construction and may be read from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config_reader.h"
#include "common/strings.h"

namespace spirecvm::plugin {

// A parsed plugin, ready to build: holds its typed configuration.
template <typename Interface, typename Deps>
using Builder = std::function<absl::StatusOr<std::unique_ptr<Interface>>(const Deps&)>;

// One plugin type: its name in the configuration and how to read its plugin_data into a Builder.
template <typename Interface, typename Deps>
struct PluginType {
  std::string name;
  std::function<absl::StatusOr<Builder<Interface, Deps>>(config::Section&)> parse;
};

// Unwrap(x) has the type of the configuration whether `parse` returns Config or StatusOr<Config>
// (only used in unevaluated context by Plugin()).
template <typename T>
T Unwrap(const absl::StatusOr<T>&);
template <typename T>
T Unwrap(const T&);

// Builds a PluginType from a typed parse (`Config(config::Section&)`, returning Config or
// StatusOr<Config>) and a typed build (`StatusOr<unique_ptr<Interface>>(const Config&, const Deps&)`).
template <typename Interface, typename Deps, typename ParseFn, typename BuildFn>
PluginType<Interface, Deps> Plugin(std::string name, ParseFn parse, BuildFn build) {
  return {std::move(name),
          [parse = std::move(parse),
           build = std::move(build)](config::Section& data) -> absl::StatusOr<Builder<Interface, Deps>> {
            absl::StatusOr<std::decay_t<decltype(Unwrap(parse(data)))>> config = parse(data);
            if (!config.ok()) return config.status();
            return Builder<Interface, Deps>(
                [build, cfg = *std::move(config)](const Deps& deps) { return build(cfg, deps); });
          }};
}

// The registry of one plugin kind.
template <typename Interface, typename Deps>
class Registry {
 public:
  Registry(std::string kind, std::vector<PluginType<Interface, Deps>> types)
      : kind_(std::move(kind)), types_(std::move(types)) {}

  const std::string& kind() const { return kind_; }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& t : types_) names.push_back(t.name);
    return names;
  }

  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  // Reads `data` (the plugin's plugin_data) for plugin `name`. An unknown name is an error that names
  // the kind and lists the known plugins.
  absl::StatusOr<Builder<Interface, Deps>> Parse(std::string_view name, config::Section& data) const {
    const PluginType<Interface, Deps>* type = Find(name);
    if (type == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown ", kind_, " plugin \"", ToAbsl(name),
                                                     "\" (known: ", absl::StrJoin(Names(), ", "), ")"));
    }
    return type->parse(data);
  }

 private:
  const PluginType<Interface, Deps>* Find(std::string_view name) const {
    for (const auto& t : types_) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }

  std::string kind_;
  std::vector<PluginType<Interface, Deps>> types_;
};

// How many plugins of one kind a configuration may declare (SPIRE: exactly one DataStore and
// KeyManager, at least one NodeAttestor, at most one UpstreamAuthority, any number of Notifiers).
enum class Cardinality { kExactlyOne, kAtLeastOne, kAtMostOne, kAny };

// OK when `count` plugins of `kind` meet `rule`; otherwise InvalidArgument naming the kind and the rule.
inline absl::Status CheckCardinality(std::string_view kind, Cardinality rule, size_t count) {
  switch (rule) {
    case Cardinality::kExactlyOne:
      if (count == 1) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("exactly one ", ToAbsl(kind), " plugin must be configured (found ", count, ")"));
    case Cardinality::kAtLeastOne:
      if (count >= 1) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat("at least one ", ToAbsl(kind), " plugin must be configured"));
    case Cardinality::kAtMostOne:
      if (count <= 1) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("at most one ", ToAbsl(kind), " plugin may be configured (found ", count, ")"));
    case Cardinality::kAny:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace spirecvm::plugin
