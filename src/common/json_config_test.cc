#include "common/json_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config_reader.h"

namespace spirecvm::config {
namespace {

using ::testing::HasSubstr;

TEST(JsonConfigTest, DetectedByExtensionOrFirstCharacter) {
  EXPECT_TRUE(LooksLikeJson("server {}", "server.json"));
  EXPECT_TRUE(LooksLikeJson("", "conf/SERVER.JSON"));
  EXPECT_TRUE(LooksLikeJson("\n  \t{\"server\": {}}", "server.conf"));
  EXPECT_FALSE(LooksLikeJson("server { }", "server.conf"));
  EXPECT_FALSE(LooksLikeJson("# {\nserver {}", "server.conf"));
  EXPECT_FALSE(LooksLikeJson("", "server.conf"));
}

TEST(JsonConfigTest, MapsValuesWithPositions) {
  auto body = ParseJson(R"({
  "server": {"bind_port": 8081, "ratio": 1.5, "on": true, "off": null,
             "name": "a\"b", "list": ["x", 2]},
  "n": -3
})",
                        "s.json");
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_EQ(body->attributes.size(), 2u);
  EXPECT_TRUE(body->blocks.empty());
  const hcl::Attribute& server = body->attributes[0];
  EXPECT_EQ(server.name, "server");
  EXPECT_EQ(server.pos.line, 2);
  EXPECT_EQ(server.pos.column, 3);
  ASSERT_EQ(server.value.kind, hcl::Value::Kind::kObject);
  const auto& members = server.value.object;
  ASSERT_EQ(members.size(), 6u);
  EXPECT_EQ(members[0].key, "bind_port");
  EXPECT_EQ(members[0].value.number_text, "8081");
  EXPECT_EQ(members[0].value.pos.line, 2);
  EXPECT_EQ(members[0].value.pos.column, 14);
  EXPECT_EQ(members[1].value.number_text, "1.5");
  EXPECT_TRUE(members[2].value.boolean);
  EXPECT_EQ(members[3].value.kind, hcl::Value::Kind::kNull);
  EXPECT_EQ(members[4].value.str, "a\"b");
  EXPECT_EQ(members[4].value.pos.line, 3);
  ASSERT_EQ(members[5].value.kind, hcl::Value::Kind::kList);
  EXPECT_EQ(members[5].value.list[1].number, 2);
  EXPECT_EQ(body->attributes[1].value.number_text, "-3");
}

TEST(JsonConfigTest, SyntaxErrorsNameFileLineAndColumn) {
  auto body = ParseJson("{\n  \"server\": {\"a\": 1,}\n}", "s.json");
  ASSERT_FALSE(body.ok());
  EXPECT_THAT(body.status().message(), HasSubstr("s.json:2:"));
  EXPECT_THAT(body.status().message(), HasSubstr("invalid JSON"));
  EXPECT_THAT(ParseJson("{} trailing", "s.json").status().message(), HasSubstr("s.json:1:"));
  EXPECT_THAT(ParseJson("", "s.json").status().message(), HasSubstr("s.json:1:1"));
}

TEST(JsonConfigTest, TopLevelMustBeAnObject) {
  auto body = ParseJson("[1, 2]", "s.json");
  ASSERT_FALSE(body.ok());
  EXPECT_THAT(body.status().message(), HasSubstr("must be an object at the top level, got list"));
  EXPECT_FALSE(ParseJson("\"x\"", "s.json").ok());
}

TEST(JsonConfigTest, DeepNestingRefused) {
  std::string deep = "{\"a\": " + std::string(200, '[') + std::string(200, ']') + "}";
  auto body = ParseJson(deep, "s.json");
  ASSERT_FALSE(body.ok());
  EXPECT_THAT(body.status().message(), HasSubstr("nesting deeper than 64 levels"));
}

TEST(JsonConfigTest, InvalidUtf8Refused) { EXPECT_FALSE(ParseJson("{\"a\": \"\xff\"}", "s.json").ok()); }

TEST(JsonConfigTest, ParseConfigTextPicksTheSyntax) {
  auto hcl_body = ParseConfigText("server { a = 1 }", "server.conf");
  ASSERT_TRUE(hcl_body.ok()) << hcl_body.status();
  EXPECT_EQ(hcl_body->blocks.size(), 1u);
  auto json_body = ParseConfigText(R"({"server": {"a": 1}})", "server.conf");
  ASSERT_TRUE(json_body.ok()) << json_body.status();
  EXPECT_EQ(json_body->attributes.size(), 1u);
}

// The shapes SPIRE's Helm chart renders: blocks as lists of objects, plugins as kind -> [ {name: {...}} ], an empty
// plugin_data as null. The strict reader sees them as the HCL blocks they stand for.
TEST(JsonConfigTest, HelmShapesReadAsBlocks) {
  auto body = ParseJson(R"({
  "server": {"ca_subject": [{"country": ["US"], "common_name": "x"}], "bogus": null},
  "plugins": {
    "DataStore": [{"sql": {"plugin_data": {"database_type": "sqlite3"}}}],
    "KeyManager": [{"memory": {"plugin_data": null}}],
    "NodeAttestor": {"join_token": {"plugin_data": {}}, "aws_iid": {}}
  },
  "telemetry": [{"Prometheus": [{"port": 9988}]}]
})",
                        "server.json");
  ASSERT_TRUE(body.ok()) << body.status();
  Section root = Section::FromBody(*body, "", "server.json");
  auto server = root.Child("server");
  ASSERT_TRUE(server.has_value());
  auto subject = server->Child("ca_subject");
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(subject->StringList("country"), (std::vector<std::string>{"US"}));
  EXPECT_EQ(subject->String("common_name"), "x");

  auto plugins = root.Child("plugins");
  ASSERT_TRUE(plugins.has_value());
  auto ds = plugins->Blocks("DataStore", 1);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].first, (std::vector<std::string>{"sql"}));
  EXPECT_EQ(ds[0].second.path(), "plugins.DataStore \"sql\"");
  auto data = ds[0].second.Child("plugin_data");
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->String("database_type"), "sqlite3");
  auto km = plugins->Blocks("KeyManager", 1);
  ASSERT_EQ(km.size(), 1u);
  EXPECT_EQ(km[0].first, (std::vector<std::string>{"memory"}));
  EXPECT_FALSE(km[0].second.Child("plugin_data").has_value());  // null reads as absent
  auto na = plugins->Blocks("NodeAttestor", 1);
  ASSERT_EQ(na.size(), 2u);
  EXPECT_EQ(na[0].first, (std::vector<std::string>{"join_token"}));
  EXPECT_EQ(na[1].first, (std::vector<std::string>{"aws_iid"}));
  (void)na[0].second.Child("plugin_data");

  auto tel = root.Child("telemetry");
  ASSERT_TRUE(tel.has_value());
  auto prom = tel->Child("Prometheus");
  ASSERT_TRUE(prom.has_value());
  EXPECT_EQ(prom->Int("port"), 9988);

  // Unknown keys are reported with their key path and position, even when their value is null.
  absl::Status st = root.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("unknown key \"bogus\" in server (server.json:2:"));
  EXPECT_EQ(st.message().find('\n'), absl::string_view::npos) << st.message();
}

TEST(JsonConfigTest, UnknownKeysInsidePeeledPluginBlocks) {
  auto body = ParseJson(R"({"plugins": {"DataStore": [{"sql": {"plugin_data": {}, "plugin_dta": 1}}]}})", "s.json");
  ASSERT_TRUE(body.ok()) << body.status();
  Section root = Section::FromBody(*body, "", "s.json");
  auto plugins = root.Child("plugins");
  ASSERT_TRUE(plugins.has_value());
  for (auto& [labels, block] : plugins->Blocks("DataStore", 1)) (void)block.Child("plugin_data");
  absl::Status st = root.Finish();
  EXPECT_THAT(st.message(), HasSubstr("unknown key \"plugin_dta\" in plugins.DataStore \"sql\" (s.json:1:"));
}

TEST(JsonConfigTest, TwoObjectsForOneBlockRefused) {
  auto body = ParseJson(R"({"server": [{"a": 1}, {"a": 2}]})", "s.json");
  ASSERT_TRUE(body.ok()) << body.status();
  Section root = Section::FromBody(*body, "", "s.json");
  EXPECT_FALSE(root.Child("server").has_value());
  EXPECT_THAT(root.Finish().message(), HasSubstr("server: given more than once"));
}

}  // namespace
}  // namespace spirecvm::config
