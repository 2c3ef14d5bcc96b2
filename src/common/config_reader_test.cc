#include "common/config_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::config {
namespace {

using ::testing::HasSubstr;

hcl::Body MustParse(std::string_view text) {
  auto b = hcl::Parse(text, "server.conf");
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : hcl::Body{};
}

TEST(ConfigReaderTest, TypedGetters) {
  hcl::Body body = MustParse(R"(server {
  bind_address = "0.0.0.0"
  bind_port = 8081
  quoted_port = "8082"
  insecure = true
  ca_ttl = "24h"
  list = ["a", "b"]
}
)");
  Section root = Section::FromBody(body, "", "server.conf");
  auto server = root.Child("server");
  ASSERT_TRUE(server.has_value());
  EXPECT_EQ(server->path(), "server");
  EXPECT_EQ(server->String("bind_address"), "0.0.0.0");
  EXPECT_EQ(server->Int("bind_port"), 8081);
  EXPECT_EQ(server->Int("quoted_port"), 8082);  // HCL1 accepts quoted integers (SPIRE's example config does this)
  EXPECT_EQ(server->Bool("insecure"), true);
  EXPECT_EQ(server->Duration("ca_ttl"), absl::Hours(24));
  EXPECT_EQ(server->StringList("list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(server->String("missing"), std::nullopt);
  EXPECT_TRUE(server->Has("bind_port"));
  EXPECT_FALSE(server->Has("missing"));
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigReaderTest, UnknownKeysAllAtOnce) {
  hcl::Body body = MustParse(R"(server {
  bind_address = "0.0.0.0"
  bind_prot = 8081
  typo_two = true
}
plugins {
  NodeAttestor "join_token" {
    plugin_data { known = 1 extra = 2 }
  }
}
stray = 1
)");
  Section root = Section::FromBody(body, "", "server.conf");
  auto server = root.Child("server");
  server->String("bind_address");
  auto plugins = root.Child("plugins");
  for (auto& [labels, na] : plugins->Blocks("NodeAttestor")) {
    EXPECT_EQ(labels, std::vector<std::string>{"join_token"});
    EXPECT_EQ(na.path(), "plugins.NodeAttestor \"join_token\"");
    auto pd = na.Child("plugin_data");
    ASSERT_TRUE(pd.has_value());
    EXPECT_EQ(pd->path(), "plugins.NodeAttestor \"join_token\".plugin_data");
    pd->Int("known");
  }
  absl::Status s = root.Finish();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "unknown key \"bind_prot\" in server (server.conf:3:3)\n"
            "unknown key \"typo_two\" in server (server.conf:4:3)\n"
            "unknown key \"extra\" in plugins.NodeAttestor \"join_token\".plugin_data (server.conf:8:29)\n"
            "unknown key \"stray\" at top level (server.conf:11:1)");
}

TEST(ConfigReaderTest, TypeErrorsWithPosition) {
  hcl::Body body = MustParse(R"(server {
  bind_port = "abc"
  insecure = "yes"
  ca_ttl = 3600
  list = ["a", 2]
  name = 5
  big = 99999999999999999999
  frac = 1.5
  bad_ttl = "1 hour"
  neg_ttl = "-1h"
  sub = 3
}
)");
  Section root = Section::FromBody(body, "", "server.conf");
  auto server = root.Child("server");
  EXPECT_EQ(server->Int("bind_port"), std::nullopt);
  EXPECT_EQ(server->Bool("insecure"), std::nullopt);
  EXPECT_EQ(server->Duration("ca_ttl"), std::nullopt);
  EXPECT_EQ(server->StringList("list"), std::nullopt);
  EXPECT_EQ(server->String("name"), std::nullopt);
  EXPECT_EQ(server->Int("big"), std::nullopt);
  EXPECT_EQ(server->Int("frac"), std::nullopt);
  EXPECT_EQ(server->Duration("bad_ttl"), std::nullopt);
  EXPECT_EQ(server->Duration("neg_ttl"), std::nullopt);
  EXPECT_EQ(server->Child("sub"), std::nullopt);
  absl::Status s = root.Finish();
  EXPECT_EQ(s.message(),
            "server.conf:2:15: server.bind_port: want a number, got string \"abc\"\n"
            "server.conf:3:14: server.insecure: want a bool (true or false), got string\n"
            "server.conf:4:12: server.ca_ttl: want a duration string such as \"1h30m\", got number\n"
            "server.conf:5:16: server.list: element 1: want a string, got number\n"
            "server.conf:6:10: server.name: want a string, got number\n"
            "server.conf:7:9: server.big: integer 99999999999999999999 is out of range\n"
            "server.conf:8:10: server.frac: want an integer, got 1.5\n"
            "server.conf:9:13: server.bad_ttl: invalid duration \"1 hour\": unknown unit \" hour\" (want ns, us, ms, "
            "s, m or h)\n"
            "server.conf:10:13: server.neg_ttl: invalid duration \"-1h\": negative durations are not allowed\n"
            "server.conf:11:9: server.sub: want a block or object, got number");
}

TEST(ConfigReaderTest, ChildBlockAndObjectFormsReadTheSame) {
  for (const char* text : {"plugin_data { a = 1\n b = \"x\" }", "plugin_data = { a = 1, b = \"x\" }",
                           "plugin_data = { a: 1\n b: \"x\" }"}) {
    hcl::Body body = MustParse(text);
    Section root = Section::FromBody(body, "p", "f.conf");
    auto pd = root.Child("plugin_data");
    ASSERT_TRUE(pd.has_value()) << text;
    EXPECT_EQ(pd->path(), "p.plugin_data");
    EXPECT_EQ(pd->Int("a"), 1) << text;
    EXPECT_EQ(pd->String("b"), "x") << text;
    EXPECT_EQ(pd->Keys(), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(root.Finish().ok()) << text << ": " << root.Finish();
  }
}

TEST(ConfigReaderTest, FromObject) {
  hcl::Body body = MustParse("x = { k = \"v\"\n unknown = 1 }");
  Section s = Section::FromObject(body.attributes[0].value, "x", "f.conf");
  EXPECT_EQ(s.String("k"), "v");
  EXPECT_EQ(s.Finish().message(), "unknown key \"unknown\" in x (f.conf:2:12)");
}

TEST(ConfigReaderTest, ChildErrors) {
  hcl::Body body = MustParse("a {}\na {}\nb \"l\" {}\n");
  Section root = Section::FromBody(body, "", "f.conf");
  EXPECT_EQ(root.Child("a"), std::nullopt);
  EXPECT_EQ(root.Child("b"), std::nullopt);
  EXPECT_EQ(root.Finish().message(),
            "f.conf:2:1: a: given more than once (first at 1:1)\n"
            "f.conf:3:1: b: block takes no labels, got \"l\"");
}

TEST(ConfigReaderTest, KeysAndPluginIteration) {
  hcl::Body body = MustParse(R"(plugins {
  DataStore "sql" { plugin_data { database_type = "sqlite3" } }
  NodeAttestor "join_token" { plugin_data {} }
  NodeAttestor "aws_iid" { plugin_data { } enabled = true }
  KeyManager "disk" { plugin_data = { keys_path = "k.json" } }
}
)");
  Section root = Section::FromBody(body, "", "f.conf");
  auto plugins = root.Child("plugins");
  EXPECT_EQ(plugins->Keys(), (std::vector<std::string>{"DataStore", "NodeAttestor", "KeyManager"}));
  std::vector<std::string> names;
  for (const auto& kind : plugins->Keys()) {
    for (auto& [labels, sec] : plugins->Blocks(kind)) {
      names.push_back(kind + "/" + labels.at(0));
      sec.MarkKnown("plugin_data");
      sec.Bool("enabled");
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"DataStore/sql", "NodeAttestor/join_token", "NodeAttestor/aws_iid",
                                             "KeyManager/disk"}));
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigReaderTest, AddErrorAndAddKeyError) {
  hcl::Body body = MustParse("server {\n  trust_domain = \"Bad Domain\"\n}\n");
  Section root = Section::FromBody(body, "", "server.conf");
  auto server = root.Child("server");
  auto td = server->String("trust_domain");
  server->AddKeyError("trust_domain", "invalid trust domain: contains a space");
  server->AddError(server->pos(), "missing required key \"data_dir\"");
  EXPECT_EQ(root.Finish().message(),
            "server.conf:1:1: server: missing required key \"data_dir\"\n"
            "server.conf:2:3: server.trust_domain: invalid trust domain: contains a space");
}

TEST(ConfigReaderTest, ChildTwiceSharesKnownKeys) {
  hcl::Body body = MustParse("server { a = 1\n b = 2 }");
  Section root = Section::FromBody(body, "", "f.conf");
  root.Child("server")->Int("a");
  root.Child("server")->Int("b");
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigReaderTest, RawForwardsFreeFormData) {
  hcl::Body body = MustParse("plugin_data { a = 1\n nested \"l\" { b = true } }\nobj = { c = \"d\" }");
  Section root = Section::FromBody(body, "", "f.conf");
  auto pd = root.Raw("plugin_data");
  ASSERT_TRUE(pd.has_value());
  ASSERT_EQ(pd->kind, hcl::Value::Kind::kObject);
  ASSERT_EQ(pd->object.size(), 2u);
  EXPECT_EQ(pd->object[0].key, "a");
  EXPECT_EQ(pd->object[1].key, "nested");
  EXPECT_EQ(pd->object[1].value.object[0].key, "l");
  EXPECT_TRUE(pd->object[1].value.object[0].value.object[0].value.boolean);
  EXPECT_EQ(root.Raw("obj")->object[0].value.str, "d");
  EXPECT_EQ(root.Raw("none"), std::nullopt);
  EXPECT_TRUE(root.Finish().ok());
}

TEST(ConfigReaderTest, BlockWhereValueWanted) {
  hcl::Body body = MustParse("bind_port {}\n");
  Section root = Section::FromBody(body, "", "f.conf");
  EXPECT_EQ(root.Int("bind_port"), std::nullopt);
  EXPECT_THAT(root.Finish().message(), HasSubstr("f.conf:1:1: bind_port: want a number, got a block"));
}

}  // namespace
}  // namespace spirecvm::config
