#include "server/catalog.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_join.h"
#include "server/datastore/postgres_datastore.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/keymanager/aws_kms_key_manager.h"
#include "server/nodeattest/aws_iid_attestor.h"
#include "server/nodeattest/join_token_attestor.h"

namespace spirecvm::server {
namespace {

using plugin::Plugin;

// plugin_data of a plugin that takes none: any key in it is reported as unknown.
struct NoConfig {};
NoConfig ParseNoConfig(config::Section&) { return {}; }

absl::StatusOr<std::unique_ptr<datastore::DataStore>> BuildSql(const SqlDataStoreConfig& c, const DataStoreDeps& d) {
  if (c.database_type == "postgres") {
    return datastore::OpenPostgres({.connection_string = c.connection_string,
                                    .ro_connection_string = c.ro_connection_string,
                                    .max_open_conns = c.max_open_conns,
                                    .conn_max_lifetime = c.conn_max_lifetime},
                                   d.clock, d.rnd);
  }
  return datastore::OpenSqlite({.path = c.connection_string}, d.clock, d.rnd);
}

absl::StatusOr<std::unique_ptr<KeyManager>> BuildDiskKeyManager(const DiskKeyManagerConfig& c, const KeyManagerDeps&) {
  return NewDiskKeyManager(c.keys_path);
}
absl::StatusOr<std::unique_ptr<KeyManager>> BuildMemoryKeyManager(const NoConfig&, const KeyManagerDeps&) {
  return NewMemoryKeyManager();
}
absl::StatusOr<std::unique_ptr<KeyManager>> BuildAwsKmsKeyManager(const AwsKmsKeyManagerConfig& c,
                                                                  const KeyManagerDeps& d) {
  return AwsKmsKeyManager::Create(c, d.trust_domain, d.clock, d.rnd);
}

absl::StatusOr<std::unique_ptr<NodeAttestor>> BuildJoinToken(const NoConfig&, const NodeAttestorDeps& d) {
  return NewJoinTokenAttestor(d.trust_domain);
}
absl::StatusOr<std::unique_ptr<NodeAttestor>> BuildAwsIid(const AwsIidAttestorConfig& c, const NodeAttestorDeps& d) {
  return NewAwsIidAttestor(c, d.trust_domain, d.clock, d.rnd);
}

absl::StatusOr<std::unique_ptr<UpstreamAuthority>> BuildDiskUpstream(const DiskUpstreamConfig& c,
                                                                     const UpstreamAuthorityDeps&) {
  return NewDiskUpstreamAuthority(c);
}

// A plugin that is not loaded (unknown kind or name): its plugin_data keys are not reported as unknown too.
void IgnoreData(config::Section& data) {
  for (const std::string& key : data.Keys()) data.MarkKnown(key);
}

void CheckKinds(ServerConfig& cfg, const ServerCatalog& catalog) {
  const std::vector<std::string> kinds = catalog.Kinds();
  std::set<std::string> reported;
  for (PluginDecl& decl : cfg.plugins) {
    if (std::find(kinds.begin(), kinds.end(), decl.kind) != kinds.end()) continue;
    IgnoreData(decl.data);
    if (reported.insert(decl.kind).second && cfg.plugins_block) {
      cfg.plugins_block->AddKeyError(
          decl.kind, absl::StrCat("unknown plugin type \"", decl.kind, "\" (known: ", absl::StrJoin(kinds, ", "), ")"));
    }
  }
}

// Parses the plugin_data of every declared plugin of one kind and checks how many there are.
template <typename Interface, typename Deps>
std::vector<PlannedPlugin<Interface, Deps>> PlanKind(ServerConfig& cfg,
                                                     const plugin::Registry<Interface, Deps>& registry,
                                                     plugin::Cardinality rule) {
  std::vector<PlannedPlugin<Interface, Deps>> planned;
  size_t declared = 0;
  for (PluginDecl& decl : cfg.plugins) {
    if (decl.kind != registry.kind()) continue;
    declared++;
    absl::StatusOr<plugin::Builder<Interface, Deps>> builder = registry.Parse(decl.name, decl.data);
    if (!builder.ok()) {
      if (!registry.Has(decl.name)) IgnoreData(decl.data);
      decl.block.AddError(decl.pos, std::string(builder.status().message()));  // the block's path names the plugin
      continue;
    }
    planned.push_back({decl.kind, decl.name, *std::move(builder)});
  }
  if (absl::Status st = plugin::CheckCardinality(registry.kind(), rule, declared); !st.ok() && cfg.plugins_block) {
    cfg.plugins_block->AddError(cfg.plugins_block->pos(), std::string(st.message()));
  }
  return planned;
}

}  // namespace

const ServerCatalog& BuiltIns() {
  static const ServerCatalog* catalog = new ServerCatalog{
      .data_stores = {"DataStore",
                      {
                          Plugin<datastore::DataStore, DataStoreDeps>("sql", ParseSqlDataStoreConfig, BuildSql),
                      }},
      .key_managers = {"KeyManager",
                       {
                           Plugin<KeyManager, KeyManagerDeps>("disk", ParseDiskKeyManagerConfig, BuildDiskKeyManager),
                           Plugin<KeyManager, KeyManagerDeps>("memory", ParseNoConfig, BuildMemoryKeyManager),
                           Plugin<KeyManager, KeyManagerDeps>("aws_kms", ParseAwsKmsKeyManagerConfig,
                                                              BuildAwsKmsKeyManager),
                       }},
      .node_attestors = {"NodeAttestor",
                         {
                             Plugin<NodeAttestor, NodeAttestorDeps>("join_token", ParseNoConfig, BuildJoinToken),
                             Plugin<NodeAttestor, NodeAttestorDeps>("aws_iid", ParseAwsIidAttestorConfig, BuildAwsIid),
                         }},
      .upstream_authorities = {"UpstreamAuthority",
                               {
                                   Plugin<UpstreamAuthority, UpstreamAuthorityDeps>("disk", ParseDiskUpstreamConfig,
                                                                                    BuildDiskUpstream),
                               }},
  };
  return *catalog;
}

std::vector<std::string> ServerCatalog::Kinds() const {
  return {data_stores.kind(), key_managers.kind(), node_attestors.kind(), upstream_authorities.kind()};
}

absl::StatusOr<PluginPlan> PlanPlugins(ServerConfig& cfg, const ServerCatalog& catalog) {
  CheckKinds(cfg, catalog);
  auto datastores = PlanKind(cfg, catalog.data_stores, ServerCatalog::kDataStores);
  auto keymanagers = PlanKind(cfg, catalog.key_managers, ServerCatalog::kKeyManagers);
  auto upstreams = PlanKind(cfg, catalog.upstream_authorities, ServerCatalog::kUpstreamAuthorities);
  auto attestors = PlanKind(cfg, catalog.node_attestors, ServerCatalog::kNodeAttestors);
  RETURN_IF_ERROR(cfg.root->Finish());
  // Finish() is OK only when every declaration parsed and each kind has its count: the indexing below holds.
  PluginPlan plan{.datastore = std::move(datastores.front()),
                  .keymanager = std::move(keymanagers.front()),
                  .upstream = std::nullopt,
                  .attestors = std::move(attestors)};
  if (!upstreams.empty()) plan.upstream = std::move(upstreams.front());
  return plan;
}

absl::StatusOr<SqlDataStoreConfig> ParseSqlDataStoreConfig(config::Section& d) {
  SqlDataStoreConfig c;
  c.database_type = d.String("database_type").value_or("");
  c.connection_string = d.String("connection_string").value_or("");
  if (c.database_type == "postgres") {
    if (auto n = d.Int("max_open_conns")) {
      if (*n < 1 || *n > 10000) d.AddKeyError("max_open_conns", "must be between 1 and 10000");
      c.max_open_conns = static_cast<int>(std::clamp<int64_t>(*n, 1, 10000));
    }
    if (auto l = d.Duration("conn_max_lifetime")) {
      if (*l < absl::ZeroDuration()) d.AddKeyError("conn_max_lifetime", "must not be negative");
      c.conn_max_lifetime = *l;
    }
    c.ro_connection_string = d.String("ro_connection_string").value_or("");
  }
  std::vector<std::string> problems;
  if (c.database_type != "sqlite3" && c.database_type != "postgres") {
    problems.push_back(absl::StrCat("database_type \"", c.database_type, "\" is not one of sqlite3, postgres"));
  }
  if (c.connection_string.empty()) problems.push_back("connection_string is required");
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return c;
}

}  // namespace spirecvm::server
