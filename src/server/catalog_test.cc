#include "server/catalog.h"

#include <filesystem>

#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spirecvm::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDataStore[] =
    "  DataStore \"sql\" { plugin_data { database_type = \"sqlite3\" connection_string = \":memory:\" } }\n";
constexpr char kKeyManager[] = "  KeyManager \"memory\" { plugin_data {} }\n";
constexpr char kJoinToken[] = "  NodeAttestor \"join_token\" { plugin_data {} }\n";
constexpr char kUpstream[] =
    "  UpstreamAuthority \"disk\" { plugin_data { cert_file_path = \"c.pem\" key_file_path = \"k.pem\" } }\n";

absl::StatusOr<PluginPlan> Plan(const std::string& plugins) {
  std::string text = "server { trust_domain = \"example.org\" }\nplugins {\n" + plugins + "}\n";
  ASSIGN_OR_RETURN(ServerConfig cfg, ParseServerConfig(text, "server.conf"));
  return PlanPlugins(cfg);
}

std::string Error(const std::string& plugins) { return std::string(Plan(plugins).status().message()); }

TEST(ServerCatalogTest, BuiltInsAreOneRegistryPerKind) {
  const ServerCatalog& c = BuiltIns();
  EXPECT_THAT(c.Kinds(), ElementsAre("DataStore", "KeyManager", "NodeAttestor", "UpstreamAuthority"));
  EXPECT_THAT(c.data_stores.Names(), ElementsAre("sql"));
  EXPECT_THAT(c.key_managers.Names(), ElementsAre("disk", "memory", "aws_kms"));
  EXPECT_THAT(c.node_attestors.Names(), ElementsAre("join_token", "aws_iid"));
  EXPECT_THAT(c.upstream_authorities.Names(), ElementsAre("disk"));
}

TEST(ServerCatalogTest, PlansEveryDeclaredPlugin) {
  auto plan = Plan(std::string(kDataStore) + kKeyManager + kJoinToken + kUpstream);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->datastore.name, "sql");
  EXPECT_EQ(plan->keymanager.name, "memory");
  ASSERT_EQ(plan->attestors.size(), 1u);
  EXPECT_EQ(plan->attestors[0].kind, "NodeAttestor");
  ASSERT_TRUE(plan->upstream.has_value());
  EXPECT_EQ(plan->upstream->name, "disk");
}

TEST(ServerCatalogTest, UnknownPluginNamesTheKindTheKnownPluginsAndTheLine) {
  std::string err = Error(std::string(kDataStore) + kKeyManager +
                          "  NodeAttestor \"k8s_psat\" { plugin_data { cluster = \"c\" } }\n");
  EXPECT_THAT(err, HasSubstr("server.conf:5:3: "));
  EXPECT_THAT(err, HasSubstr("unknown NodeAttestor plugin \"k8s_psat\" (known: join_token, aws_iid)"));
  EXPECT_THAT(err, Not(HasSubstr("cluster"))) << "the data of a plugin that is not loaded is not reported too";
  EXPECT_THAT(err, Not(HasSubstr("at least one"))) << "the declaration counts";
}

TEST(ServerCatalogTest, UnknownKindNamesTheKnownKinds) {
  std::string err = Error(std::string(kDataStore) + kKeyManager + kJoinToken +
                          "  Notifier \"k8sbundle\" { plugin_data { namespace = \"spire\" } }\n");
  EXPECT_THAT(
      err,
      HasSubstr("unknown plugin type \"Notifier\" (known: DataStore, KeyManager, NodeAttestor, UpstreamAuthority)"));
  EXPECT_THAT(err, Not(HasSubstr("namespace")));
}

TEST(ServerCatalogTest, DataStoreExactlyOne) {
  EXPECT_THAT(Error(std::string(kKeyManager) + kJoinToken), HasSubstr("exactly one DataStore plugin"));
  EXPECT_THAT(Error(std::string(kDataStore) + kDataStore + kKeyManager + kJoinToken),
              HasSubstr("exactly one DataStore plugin must be configured (found 2)"));
}

TEST(ServerCatalogTest, KeyManagerExactlyOne) {
  EXPECT_THAT(Error(std::string(kDataStore) + kJoinToken), HasSubstr("exactly one KeyManager plugin"));
  EXPECT_THAT(Error(std::string(kDataStore) + kKeyManager + kKeyManager + kJoinToken),
              HasSubstr("exactly one KeyManager plugin must be configured (found 2)"));
}

TEST(ServerCatalogTest, NodeAttestorAtLeastOne) {
  EXPECT_THAT(Error(std::string(kDataStore) + kKeyManager), HasSubstr("at least one NodeAttestor plugin"));
  auto two = Plan(std::string(kDataStore) + kKeyManager + kJoinToken +
                  "  NodeAttestor \"aws_iid\" { plugin_data { aws_certificates_path = \"certs\" } }\n");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->attestors.size(), 2u);
}

TEST(ServerCatalogTest, UpstreamAuthorityAtMostOne) {
  EXPECT_TRUE(Plan(std::string(kDataStore) + kKeyManager + kJoinToken).ok());
  EXPECT_THAT(Error(std::string(kDataStore) + kKeyManager + kJoinToken + kUpstream + kUpstream),
              HasSubstr("at most one UpstreamAuthority plugin may be configured (found 2)"));
}

TEST(ServerCatalogTest, DisabledPluginsAreNotLoadedNorCounted) {
  auto plan = Plan(std::string(kDataStore) + kKeyManager + kJoinToken +
                   "  NodeAttestor \"k8s_psat\" {\n    enabled = false\n    plugin_data { cluster = \"c\" }\n  }\n");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->attestors.size(), 1u);
}

TEST(ServerCatalogTest, EveryPluginErrorIsReportedAtOnce) {
  std::string err = Error(
      "  DataStore \"sql\" { plugin_data { database_type = \"mysql\" connection_string = \"x\" } }\n"
      "  KeyManager \"disk\" { plugin_data { key_path = \"k\" } }\n"
      "  NodeAttestor \"join_token\" { plugin_data { ttl = 3 } }\n"
      "  UpstreamAuthority \"disk\" { plugin_data {} }\n");
  EXPECT_THAT(err, HasSubstr("DataStore \"sql\": database_type \"mysql\" is not one of sqlite3, postgres"));
  EXPECT_THAT(err, HasSubstr("KeyManager \"disk\": keys_path is required"));
  EXPECT_THAT(err, HasSubstr("unknown key \"key_path\""));
  EXPECT_THAT(err, HasSubstr("unknown key \"ttl\""));
  EXPECT_THAT(err, HasSubstr("UpstreamAuthority \"disk\": cert_file_path and key_file_path are required"));
}

TEST(ServerCatalogTest, BuildErrorsNameThePlugin) {
  std::string dir = std::filesystem::temp_directory_path() / "cvm-catalog-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ASSERT_TRUE(files::WriteFileAtomic(dir + "/keys.json", "not json", 0600).ok());
  auto plan = Plan("  DataStore \"sql\" { plugin_data { database_type = \"sqlite3\" connection_string = \"" + dir +
                   "/no/such/dir/db.sqlite3\" } }\n  KeyManager \"disk\" { plugin_data { keys_path = \"" + dir +
                   "/keys.json\" } }\n" + kJoinToken);
  ASSERT_TRUE(plan.ok()) << plan.status();
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  TestOnlyDeterministicRandom rnd(7);
  auto ds = plan->datastore.Build({clock, rnd});
  EXPECT_THAT(std::string(ds.status().message()), HasSubstr("DataStore \"sql\": "));
  const spiffe::TrustDomain td = *spiffe::TrustDomain::Parse("example.org");
  auto km = plan->keymanager.Build({td, clock, rnd});
  EXPECT_EQ(km.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(km.status().message()), HasSubstr("KeyManager \"disk\": "));
  EXPECT_THAT(std::string(km.status().message()), HasSubstr("is not a valid keys file"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::server
