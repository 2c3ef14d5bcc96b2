#include "common/hcl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/random.h"

namespace spirecvm::hcl {
namespace {

using ::testing::HasSubstr;

Body MustParse(std::string_view text) {
  auto b = Parse(text, "test.conf");
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : Body{};
}

std::string ParseError(std::string_view text) {
  auto b = Parse(text, "test.conf");
  EXPECT_FALSE(b.ok()) << "parsed unexpectedly: " << text;
  if (b.ok()) return "";
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(b.status().message());
}

const Attribute* Attr(const Body& b, std::string_view name) {
  for (const auto& a : b.attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

TEST(HclTest, EmptyAndCommentsOnly) {
  EXPECT_TRUE(MustParse("").attributes.empty());
  Body b = MustParse("# hash\n// slashes\n/* block\n comment */\n");
  EXPECT_TRUE(b.attributes.empty());
  EXPECT_TRUE(b.blocks.empty());
}

TEST(HclTest, ScalarAttributes) {
  Body b = MustParse(R"(s = "hello"
i = 8081
neg = -12
f = 1.5
e = 1e3
t = true
fl = false
"quoted key" = "v"
dotted.key-name = 1
)");
  ASSERT_EQ(b.attributes.size(), 9u);
  EXPECT_EQ(Attr(b, "s")->value.kind, Value::Kind::kString);
  EXPECT_EQ(Attr(b, "s")->value.str, "hello");
  EXPECT_EQ(Attr(b, "i")->value.kind, Value::Kind::kNumber);
  EXPECT_EQ(Attr(b, "i")->value.number, 8081);
  EXPECT_EQ(Attr(b, "i")->value.number_text, "8081");
  EXPECT_EQ(Attr(b, "neg")->value.number, -12);
  EXPECT_EQ(Attr(b, "neg")->value.number_text, "-12");
  EXPECT_DOUBLE_EQ(Attr(b, "f")->value.number, 1.5);
  EXPECT_EQ(Attr(b, "f")->value.number_text, "1.5");
  EXPECT_DOUBLE_EQ(Attr(b, "e")->value.number, 1000);
  EXPECT_EQ(Attr(b, "t")->value.kind, Value::Kind::kBool);
  EXPECT_TRUE(Attr(b, "t")->value.boolean);
  EXPECT_FALSE(Attr(b, "fl")->value.boolean);
  EXPECT_EQ(Attr(b, "quoted key")->value.str, "v");
  EXPECT_NE(Attr(b, "dotted.key-name"), nullptr);
}

TEST(HclTest, Positions) {
  Body b = MustParse("\n  key = \"v\"\nblk \"l\" {\n}\n");
  ASSERT_EQ(b.attributes.size(), 1u);
  EXPECT_EQ(b.attributes[0].pos.line, 2);
  EXPECT_EQ(b.attributes[0].pos.column, 3);
  EXPECT_EQ(b.attributes[0].value.pos.line, 2);
  EXPECT_EQ(b.attributes[0].value.pos.column, 9);
  ASSERT_EQ(b.blocks.size(), 1u);
  EXPECT_EQ(b.blocks[0].pos.line, 3);
  EXPECT_EQ(b.blocks[0].pos.column, 1);
}

TEST(HclTest, StringEscapes) {
  Body b = MustParse(R"(a = "x\ny\t\"q\"\\z"
u = "\u00e9\u20AC"
U = "\U0001F600"
interp = "${not_interpolated}")");
  EXPECT_EQ(Attr(b, "a")->value.str, "x\ny\t\"q\"\\z");
  EXPECT_EQ(Attr(b, "u")->value.str, "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Attr(b, "U")->value.str, "\xF0\x9F\x98\x80");
  EXPECT_EQ(Attr(b, "interp")->value.str, "${not_interpolated}");
}

TEST(HclTest, BadEscape) {
  EXPECT_EQ(ParseError("a = \"x\\qy\""), "test.conf:1:7: invalid escape sequence \\q");
  EXPECT_THAT(ParseError("a = \"\\u12\""), HasSubstr("test.conf:1:6: invalid \\u escape"));
  EXPECT_THAT(ParseError("a = \"\\uD800\""), HasSubstr("test.conf:1:6: invalid Unicode code point"));
}

TEST(HclTest, Lists) {
  Body b = MustParse(R"(empty = []
one = ["a"]
trailing = ["a", "b",]
multi = [
  "x",   # comment
  2,
  true,
  ["nested"],
]
)");
  EXPECT_EQ(Attr(b, "empty")->value.kind, Value::Kind::kList);
  EXPECT_TRUE(Attr(b, "empty")->value.list.empty());
  EXPECT_EQ(Attr(b, "one")->value.list.size(), 1u);
  ASSERT_EQ(Attr(b, "trailing")->value.list.size(), 2u);
  EXPECT_EQ(Attr(b, "trailing")->value.list[1].str, "b");
  const auto& m = Attr(b, "multi")->value.list;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].str, "x");
  EXPECT_EQ(m[1].number, 2);
  EXPECT_TRUE(m[2].boolean);
  EXPECT_EQ(m[3].list[0].str, "nested");
  EXPECT_EQ(m[1].pos.line, 6);
  EXPECT_EQ(m[1].pos.column, 3);
}

TEST(HclTest, Objects) {
  Body b = MustParse(R"(o1 = { a = 1, "b" = "two" }
o2 = {
  a: 1
  b: [1, 2]
  nested = { x = true }
  sub { y = 2 }
}
empty = {}
)");
  const auto& o1 = Attr(b, "o1")->value;
  ASSERT_EQ(o1.kind, Value::Kind::kObject);
  ASSERT_EQ(o1.object.size(), 2u);
  EXPECT_EQ(o1.object[0].key, "a");
  EXPECT_EQ(o1.object[1].key, "b");
  EXPECT_EQ(o1.object[1].value.str, "two");
  const auto& o2 = Attr(b, "o2")->value;
  ASSERT_EQ(o2.object.size(), 4u);
  EXPECT_EQ(o2.object[1].value.list.size(), 2u);
  EXPECT_TRUE(o2.object[2].value.object[0].value.boolean);
  EXPECT_EQ(o2.object[3].key, "sub");
  EXPECT_EQ(o2.object[3].value.kind, Value::Kind::kObject);
  EXPECT_TRUE(Attr(b, "empty")->value.object.empty());
}

TEST(HclTest, DuplicateObjectKey) {
  EXPECT_EQ(ParseError("o = {\n  a = 1\n  a = 2\n}"),
            "test.conf:3:3: duplicate key \"a\" in object (first defined at 2:3)");
}

TEST(HclTest, BlocksAndLabels) {
  Body b = MustParse(R"(
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  NodeAttestor aws_iid {
    plugin_data { a = 1 }
  }
  Multi "one" two "three" {}
}
)");
  ASSERT_EQ(b.blocks.size(), 1u);
  const Block& plugins = b.blocks[0];
  EXPECT_EQ(plugins.type, "plugins");
  EXPECT_TRUE(plugins.labels.empty());
  ASSERT_EQ(plugins.body->blocks.size(), 3u);
  EXPECT_EQ(plugins.body->blocks[0].type, "NodeAttestor");
  EXPECT_EQ(plugins.body->blocks[0].labels, std::vector<std::string>{"join_token"});
  EXPECT_EQ(plugins.body->blocks[1].labels, std::vector<std::string>{"aws_iid"});
  EXPECT_EQ(plugins.body->blocks[2].labels, (std::vector<std::string>{"one", "two", "three"}));
  const Body& pd = *plugins.body->blocks[1].body->blocks[0].body;
  EXPECT_EQ(pd.attributes[0].name, "a");
}

TEST(HclTest, OneLineBodiesLikeHcl1) {
  // HCL1 (what SPIRE uses) needs no newline between items.
  Body b = MustParse(R"(plugin_data { database_type = "sqlite3" connection_string = "./data/datastore.sqlite3" })");
  ASSERT_EQ(b.blocks.size(), 1u);
  ASSERT_EQ(b.blocks[0].body->attributes.size(), 2u);
  EXPECT_EQ(b.blocks[0].body->attributes[1].value.str, "./data/datastore.sqlite3");
}

TEST(HclTest, SpireServerConf) {
  Body b = MustParse(R"(server {
    bind_address = "127.0.0.1"
    bind_port = "8081"
    socket_path = "/tmp/spire-server/private/api.sock"
    trust_domain = "example.org"
    data_dir = "./data/server"
    log_level = "DEBUG"
    ca_ttl = "24h"
    default_x509_svid_ttl = "1h"
    ca_subject {
        country = ["US"]
        organization = ["SPIFFE"]
        common_name = ""
    }
}

plugins {
    DataStore "sql" {
        plugin_data {
            database_type = "sqlite3"
            connection_string = "./data/server/datastore.sqlite3"
        }
    }

    KeyManager "disk" {
        plugin_data {
            keys_path = "./data/server/keys.json"
        }
    }

    NodeAttestor "join_token" {
        plugin_data {
        }
    }

    UpstreamAuthority "disk" {
        plugin_data = {
            key_file_path = "./conf/server/dummy_upstream_ca.key"
            cert_file_path = "./conf/server/dummy_upstream_ca.crt"
        }
    }
}

health_checks {
    listener_enabled = true
    bind_address = "localhost"
    bind_port = "8080"
}
)");
  ASSERT_EQ(b.blocks.size(), 3u);
  EXPECT_EQ(b.blocks[0].type, "server");
  EXPECT_EQ(b.blocks[0].body->attributes.size(), 8u);
  EXPECT_EQ(b.blocks[0].body->blocks[0].type, "ca_subject");
  const Body& plugins = *b.blocks[1].body;
  ASSERT_EQ(plugins.blocks.size(), 4u);
  EXPECT_EQ(plugins.blocks[0].type, "DataStore");
  EXPECT_EQ(plugins.blocks[0].labels[0], "sql");
  EXPECT_EQ(plugins.blocks[0].body->blocks[0].body->attributes[0].value.str, "sqlite3");
  EXPECT_EQ(plugins.blocks[3].body->attributes[0].name, "plugin_data");
  EXPECT_EQ(plugins.blocks[3].body->attributes[0].value.kind, Value::Kind::kObject);
  EXPECT_TRUE(b.blocks[2].body->attributes[0].value.boolean);
}

TEST(HclTest, SpireAgentConf) {
  Body b = MustParse(R"(agent {
    data_dir = "./data/agent"
    log_level = "DEBUG"
    trust_domain = "example.org"
    server_address = "localhost"
    server_port = 8081
    socket_path ="/tmp/spire-agent/public/api.sock"

    # Insecure bootstrap is NOT appropriate for production use but is ok for
    # simple testing/evaluation purposes.
    insecure_bootstrap = true
}

plugins {
   KeyManager "disk" {
        plugin_data {
            directory = "./data/agent"
        }
    }

    NodeAttestor "join_token" {
        plugin_data {}
    }

    WorkloadAttestor "unix" {
        plugin_data {
            discover_workload_path = true
        }
    }
}
)");
  ASSERT_EQ(b.blocks.size(), 2u);
  EXPECT_EQ(Attr(*b.blocks[0].body, "server_port")->value.number, 8081);
  EXPECT_EQ(b.blocks[1].body->blocks.size(), 3u);
  EXPECT_TRUE(b.blocks[1].body->blocks[1].body->blocks[0].body->attributes.empty());
}

TEST(HclTest, Heredoc) {
  Body b = MustParse("a = <<EOF\nline1\n  line2\nEOF\nb = 1\n");
  EXPECT_EQ(Attr(b, "a")->value.str, "line1\n  line2\n");
  EXPECT_EQ(Attr(b, "b")->value.number, 1);
}

TEST(HclTest, HeredocIndented) {
  Body b = MustParse("x {\n  pem = <<-EOT\n    -----BEGIN-----\n      indented\n\n    -----END-----\n    EOT\n}\n");
  const Body& x = *b.blocks[0].body;
  EXPECT_EQ(Attr(x, "pem")->value.str, "-----BEGIN-----\n  indented\n\n-----END-----\n");
}

TEST(HclTest, HeredocEmptyAndInList) {
  Body b = MustParse("a = <<EOF\nEOF\nl = [<<X\nv\nX\n, \"w\"]\n");
  EXPECT_EQ(Attr(b, "a")->value.str, "");
  ASSERT_EQ(Attr(b, "l")->value.list.size(), 2u);
  EXPECT_EQ(Attr(b, "l")->value.list[0].str, "v\n");
}

TEST(HclTest, HeredocErrors) {
  EXPECT_EQ(ParseError("a = <<EOF\nno end\n"), "test.conf:1:5: unterminated heredoc: no closing \"EOF\" line");
  EXPECT_EQ(ParseError("a = <<EOF x\n"), "test.conf:1:11: heredoc: expected a newline after the marker");
  EXPECT_EQ(ParseError("a = << EOF\n"), "test.conf:1:7: heredoc: expected a marker identifier after '<<'");
}

TEST(HclTest, CommentsEverywhere) {
  Body b = MustParse(R"(# leading
a = 1 # trailing hash
b = 2 // trailing slashes
/* multi
   line */ c = /* inline */ 3
d {
  // inside
  e = [1, /* in list */ 2]
}
url = "http://not-a-comment/#x"
)");
  EXPECT_EQ(Attr(b, "c")->value.number, 3);
  EXPECT_EQ(Attr(b, "url")->value.str, "http://not-a-comment/#x");
  EXPECT_EQ(Attr(*b.blocks[0].body, "e")->value.list.size(), 2u);
}

TEST(HclTest, ErrorUnterminatedString) {
  EXPECT_EQ(ParseError("a = 1\nb = \"abc\nc = 2\n"), "test.conf:2:5: unterminated string (missing closing '\"')");
  EXPECT_EQ(ParseError("a = \"abc"), "test.conf:1:5: unterminated string (missing closing '\"')");
}

TEST(HclTest, ErrorMissingEquals) {
  EXPECT_EQ(ParseError("server {\n  bind_port 8081\n}\n"),
            "test.conf:2:13: expected '=' or '{' after \"bind_port\", got '8'");
  EXPECT_EQ(ParseError("a \"x\"\nb = 1\n"),
            "test.conf:2:1: expected '{' to open block \"a\" after its labels, got \"b\"");
}

TEST(HclTest, ErrorBadToken) {
  EXPECT_EQ(ParseError("a = @"), "test.conf:1:5: unexpected '@': want a value");
  EXPECT_EQ(ParseError("a = 1\n  $x = 2"), "test.conf:2:3: expected an attribute name or block type, got '$'");
  EXPECT_EQ(ParseError("a = bare"),
            "test.conf:1:5: unexpected \"bare\": want a value (quoted string, number, true/false, list or object)");
  EXPECT_EQ(ParseError("a = 12abc"), "test.conf:1:5: invalid number \"12abc\"");
  EXPECT_EQ(ParseError("a = -x"), "test.conf:1:5: invalid number: '-' must be followed by digits");
  EXPECT_EQ(ParseError("}"), "test.conf:1:1: unexpected '}' with no open block");
  EXPECT_EQ(ParseError("a = [1 2]"), "test.conf:1:8: expected ',' or ']' in list, got '2'");
  EXPECT_EQ(ParseError("a = { b 1 }"), "test.conf:1:9: expected '=' or ':' after object key \"b\", got '1'");
  EXPECT_EQ(ParseError("a ="), "test.conf:1:4: unexpected end of file: want a value");
}

TEST(HclTest, ErrorUnterminatedBlock) {
  EXPECT_EQ(ParseError("server {\n  a = 1\n  inner {\n    b = 2\n  }\n"),
            "test.conf:1:8: unterminated block: '{' is never closed");
  EXPECT_EQ(ParseError("a = [\n1,\n"), "test.conf:1:5: unterminated list: '[' is never closed");
  EXPECT_EQ(ParseError("a = {\n b = 1\n"), "test.conf:1:5: unterminated object: '{' is never closed");
  EXPECT_EQ(ParseError("a = 1\n/* open"), "test.conf:2:1: unterminated /* comment");
}

TEST(HclTest, ErrorDuplicateKey) {
  EXPECT_EQ(ParseError("server {\n  port = 1\n  port = 2\n}\n"),
            "test.conf:3:3: duplicate attribute \"port\" (first defined at 2:3)");
  EXPECT_EQ(ParseError("a = 1\na {}\n"), "test.conf:2:1: \"a\" is both an attribute and a block (attribute at 1:1)");
  // The same key in different bodies is fine, and repeated blocks are fine.
  MustParse("a { x = 1 }\nb { x = 1 }\nNodeAttestor \"x\" {}\nNodeAttestor \"y\" {}\n");
}

TEST(HclTest, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(ParseError("a = \"\xC3\xA9\xC3\xA9\" @"),
            "test.conf:1:10: expected an attribute name or block type, got '@'");
}

TEST(HclTest, CrLfLineEndings) {
  Body b = MustParse("a = 1\r\nb {\r\n  c = \"x\"\r\n}\r\n");
  EXPECT_EQ(Attr(b, "a")->value.number, 1);
  EXPECT_EQ(b.blocks[0].body->attributes[0].value.str, "x");
}

TEST(HclTest, ParseFile) {
  std::string path = ::testing::TempDir() + "/hcl_parse_file_test.conf";
  { std::ofstream(path) << "a = 1\nb = \"x"; }
  auto b = ParseFile(path);
  EXPECT_EQ(b.status().message(), path + ":2:5: unterminated string (missing closing '\"')");
  EXPECT_EQ(ParseFile(path + ".missing").status().code(), absl::StatusCode::kNotFound);
}

// Mutated and truncated inputs must produce a result or an error, never a crash or sanitizer report.
TEST(HclTest, MutationsNeverCrash) {
  const std::string seed = R"(server { a = "x\u00e9" b = [1, -2.5e3, true] c = { d: <<-EOF
    text
    EOF
  } }
plugins { K "l" m { /* c */ x = 1 } } # end
)";
  const std::string alphabet = "{}[]=:,\"\\<-#/*\n aZ09.eu$";
  TestOnlyDeterministicRandom rng(42);
  for (int i = 0; i < 3000; ++i) {
    std::string s = seed;
    std::string r = rng.Bytes(8);
    int edits = 1 + static_cast<uint8_t>(r[0]) % 4;
    for (int e = 0; e < edits; ++e) {
      size_t at = static_cast<uint8_t>(rng.Bytes(1)[0]) % s.size();
      char c = alphabet[static_cast<uint8_t>(rng.Bytes(1)[0]) % alphabet.size()];
      switch (static_cast<uint8_t>(r[1 + e]) % 3) {
        case 0:
          s[at] = c;
          break;
        case 1:
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 2:
          s.erase(at, 1);
          break;
      }
    }
    auto b = Parse(s, "fuzz");
    if (!b.ok()) {
      EXPECT_EQ(b.status().message().substr(0, 5), "fuzz:");
    }
    (void)Parse(std::string_view(s).substr(0, static_cast<uint8_t>(r[7]) % s.size()), "fuzz");
  }
}

// The syntax example in docs/configuration.md must stay parseable.
TEST(HclTest, DocumentationExampleParses) {
  std::ifstream f(std::string(SPIRECVM_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(f) << "docs/configuration.md not found";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  auto start = doc.find("```hcl\n");
  ASSERT_NE(start, std::string::npos);
  start += 7;
  auto end = doc.find("```", start);
  ASSERT_NE(end, std::string::npos);
  Body b = MustParse(std::string_view(doc).substr(start, end - start));
  ASSERT_EQ(b.blocks.size(), 2u);
  EXPECT_EQ(Attr(b, "indented")->value.str,
            "<<- removes the leading whitespace that all non-blank lines share,\n"
            "  so this line keeps two spaces of indent\n");
}

}  // namespace
}  // namespace spirecvm::hcl
