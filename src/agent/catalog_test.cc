#include "agent/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/keymanager/key_manager.h"
#include "agent/nodeattest/join_token.h"
#include "common/hcl.h"

namespace spirecvm::agent {
namespace {

using ::testing::ElementsAre;

// Parses `text` as plugin_data for plugin `name` of `registry` and builds it with `deps`.
template <typename Interface, typename Deps>
absl::StatusOr<std::unique_ptr<Interface>> ParseAndBuild(const plugin::Registry<Interface, Deps>& registry,
                                                         const std::string& name, const std::string& text,
                                                         const Deps& deps) {
  auto body = hcl::Parse(text, "agent.conf");
  if (!body.ok()) return body.status();
  config::Section data = config::Section::FromBody(*body, "plugin_data", "agent.conf");
  auto builder = registry.Parse(name, data);
  if (!builder.ok()) return builder.status();
  if (absl::Status st = data.Finish(); !st.ok()) return st;
  return (*builder)(deps);
}

TEST(AgentCatalogTest, EveryKindListsItsBuiltIns) {
  EXPECT_EQ(NodeAttestors().kind(), "NodeAttestor");
  EXPECT_THAT(NodeAttestors().Names(), ElementsAre("join_token", "aws_iid"));
  EXPECT_THAT(KeyManagers().Names(), ElementsAre("disk", "memory"));
  EXPECT_THAT(WorkloadAttestors().Names(), ElementsAre("unix"));
  EXPECT_THAT(snp::ReportProviders().Names(), ElementsAre("auto", "tsm", "sev-guest", "simulated", "none"));
}

TEST(AgentCatalogTest, BuildsWithTheKindsDeps) {
  auto jt = ParseAndBuild(NodeAttestors(), "join_token", "", NodeAttestorDeps{"tok"});
  ASSERT_TRUE(jt.ok()) << jt.status();
  EXPECT_EQ((*jt)->type(), "join_token");
  EXPECT_FALSE((*jt)->CanReattest());
  auto session = (*jt)->Start(AttestationKeyInfo{});
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(*(*session)->Payload(), "tok");

  auto disk = ParseAndBuild(KeyManagers(), "disk", "", KeyManagerDeps{"/data"});
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_EQ(dynamic_cast<DiskKeyManager&>(**disk).path(), "/data/agent_svid.key");
  auto mem = ParseAndBuild(KeyManagers(), "memory", "", KeyManagerDeps{"/data"});
  ASSERT_TRUE(mem.ok()) << mem.status();
  EXPECT_EQ((*mem)->name(), "memory");

  auto unix = ParseAndBuild(WorkloadAttestors(), "unix", "workload_size_limit = -1", WorkloadAttestorDeps{});
  ASSERT_TRUE(unix.ok()) << unix.status();
  EXPECT_EQ((*unix)->name(), "unix");

  auto none = ParseAndBuild(snp::ReportProviders(), "none", "", snp::ReportProviderDeps{});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, nullptr);
}

TEST(AgentCatalogTest, KeysAPluginDoesNotReadAreUnknown) {
  auto km = ParseAndBuild(KeyManagers(), "memory", "directory = \"/x\"", KeyManagerDeps{});
  ASSERT_FALSE(km.ok());
  EXPECT_THAT(std::string(km.status().message()), ::testing::HasSubstr("unknown key \"directory\""));
}

TEST(AgentCatalogTest, UnknownNamesListTheKnownOnes) {
  auto r = ParseAndBuild(KeyManagers(), "tpm", "", KeyManagerDeps{});
  EXPECT_EQ(r.status().message(), "unknown KeyManager plugin \"tpm\" (known: disk, memory)");
}

}  // namespace
}  // namespace spirecvm::agent
