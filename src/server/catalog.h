// The server's plugin catalog: one Registry per plugin kind, each built-in plugin one line in
// BuiltIns() (as SPIRE's catalog.BuiltIns()). Adding a plugin = a parse function (plugin_data ->
// typed config, errors into the config::Section), a build function (config + the kind's deps ->
// instance) and one line in BuiltIns(); see docs/architecture.md, "The plugin catalog".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "plugin/catalog.h"
#include "server/ca/upstream_authority.h"
#include "server/config/server_config.h"
#include "server/datastore/datastore.h"
#include "server/keymanager/key_manager.h"
#include "server/nodeattest/node_attestor.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// What each kind's plugins are built with: only what they use. The references must outlive the plugin.
struct DataStoreDeps {
  Clock& clock;
  Random& rnd;  // entry ids
};
struct KeyManagerDeps {
  const spiffe::TrustDomain& trust_domain;  // aws_kms: the alias and key description name it
  Clock& clock;
  Random& rnd;  // aws_kms: the server id
};
struct UpstreamAuthorityDeps {};
struct NodeAttestorDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  Clock& clock;
  Random& rnd;
};

using DataStoreRegistry = plugin::Registry<datastore::DataStore, DataStoreDeps>;
using KeyManagerRegistry = plugin::Registry<KeyManager, KeyManagerDeps>;
using NodeAttestorRegistry = plugin::Registry<NodeAttestor, NodeAttestorDeps>;
using UpstreamAuthorityRegistry = plugin::Registry<UpstreamAuthority, UpstreamAuthorityDeps>;

// One Registry per kind, and how many plugins of it a configuration declares.
struct ServerCatalog {
  DataStoreRegistry data_stores;
  KeyManagerRegistry key_managers;
  NodeAttestorRegistry node_attestors;
  UpstreamAuthorityRegistry upstream_authorities;

  static constexpr plugin::Cardinality kDataStores = plugin::Cardinality::kExactlyOne;
  static constexpr plugin::Cardinality kKeyManagers = plugin::Cardinality::kExactlyOne;
  static constexpr plugin::Cardinality kNodeAttestors = plugin::Cardinality::kAtLeastOne;
  static constexpr plugin::Cardinality kUpstreamAuthorities = plugin::Cardinality::kAtMostOne;

  std::vector<std::string> Kinds() const;
};

// The plugins built into spire-server.
const ServerCatalog& BuiltIns();

// A configured plugin whose plugin_data has been read, ready to build.
template <typename Interface, typename Deps>
struct PlannedPlugin {
  std::string kind;
  std::string name;
  plugin::Builder<Interface, Deps> builder;

  // Every error names the plugin: `DataStore "sql": ...`.
  absl::StatusOr<std::unique_ptr<Interface>> Build(const Deps& deps) const {
    absl::StatusOr<std::unique_ptr<Interface>> built = builder(deps);
    if (!built.ok()) return Annotate(built.status(), absl::StrCat(kind, " \"", name, "\""));
    return built;
  }
};

struct PluginPlan {
  PlannedPlugin<datastore::DataStore, DataStoreDeps> datastore;
  PlannedPlugin<KeyManager, KeyManagerDeps> keymanager;
  std::optional<PlannedPlugin<UpstreamAuthority, UpstreamAuthorityDeps>> upstream;
  std::vector<PlannedPlugin<NodeAttestor, NodeAttestorDeps>> attestors;
};

// Checks every plugin declaration against the catalog (kind, name, how many of each kind), has each
// plugin read its plugin_data, and reports every configuration error at once (the root section's
// Finish()), without opening anything. What `spire-server validate` runs, and the first step of `run`.
absl::StatusOr<PluginPlan> PlanPlugins(ServerConfig& cfg, const ServerCatalog& catalog = BuiltIns());

// DataStore "sql" plugin_data (SPIRE's keys). Public for tests.
struct SqlDataStoreConfig {
  std::string database_type;  // "sqlite3" | "postgres"
  std::string connection_string;
  // postgres only: pool size, connection recycling, optional read replica.
  int max_open_conns = 10;
  absl::Duration conn_max_lifetime = absl::ZeroDuration();  // 0 = unlimited
  std::string ro_connection_string;
};
absl::StatusOr<SqlDataStoreConfig> ParseSqlDataStoreConfig(config::Section& data);

}  // namespace spirecvm::server
