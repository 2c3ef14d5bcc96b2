#include "common/expand_env.h"

#include <gtest/gtest.h>

#include <map>

namespace spirecvm::config {
namespace {

std::string Expand(std::string_view text) {
  static const std::map<std::string, std::string> env = {
      {"TD", "example.org"}, {"PORT", "8081"}, {"EMPTY", ""}, {"A_1", "v"}, {"1", "one"}};
  return ExpandEnv(text, [](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

TEST(ExpandEnvTest, BracedAndBareNames) {
  EXPECT_EQ(Expand(R"(trust_domain = "${TD}" bind_port = $PORT)"), R"(trust_domain = "example.org" bind_port = 8081)");
  EXPECT_EQ(Expand("$A_1/x ${A_1}y"), "v/x vy");
  EXPECT_EQ(Expand("$TDx"), "");  // the name runs to the first non-name character
}

TEST(ExpandEnvTest, UnsetIsEmpty) {
  EXPECT_EQ(Expand("a${NOPE}b$NOPE c"), "ab c");
  EXPECT_EQ(Expand("[$EMPTY]"), "[]");
}

TEST(ExpandEnvTest, DollarEdgeCasesAsGo) {
  EXPECT_EQ(Expand("cost $$5"), "cost $5");  // SPIRE's escape
  EXPECT_EQ(Expand("end $"), "end $");       // a trailing dollar is kept
  EXPECT_EQ(Expand("a $ b"), "a $ b");       // a dollar that starts no name is kept
  EXPECT_EQ(Expand("x${}y"), "xy");          // bad syntax is dropped
  EXPECT_EQ(Expand("x${TD"), "xTD");         // unterminated: "${" dropped
  EXPECT_EQ(Expand("$1 ${1}"), "one one");   // special one-character names
  EXPECT_EQ(Expand("no dollars"), "no dollars");
}

}  // namespace
}  // namespace spirecvm::config
