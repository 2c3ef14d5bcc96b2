#include "plugin/catalog.h"

#include <memory>
#include <string>

#include "common/hcl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spirecvm::plugin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Greeter {
  virtual ~Greeter() = default;
  virtual std::string Greet() const = 0;
};
struct GreeterDeps {
  std::string who;
};

struct PrefixConfig {
  std::string prefix;
};
class PrefixGreeter final : public Greeter {
 public:
  PrefixGreeter(std::string prefix, std::string who) : prefix_(std::move(prefix)), who_(std::move(who)) {}
  std::string Greet() const override { return prefix_ + " " + who_; }

 private:
  std::string prefix_, who_;
};

absl::StatusOr<PrefixConfig> ParsePrefix(config::Section& data) {
  PrefixConfig c{data.String("prefix").value_or("hello")};
  if (c.prefix.empty()) return absl::InvalidArgumentError("prefix must not be empty");
  return c;
}
absl::StatusOr<std::unique_ptr<Greeter>> BuildPrefix(const PrefixConfig& c, const GreeterDeps& deps) {
  return std::make_unique<PrefixGreeter>(c.prefix, deps.who);
}

struct Nothing {};
Nothing ParseNothing(config::Section&) { return {}; }
absl::StatusOr<std::unique_ptr<Greeter>> BuildSilent(const Nothing&, const GreeterDeps&) {
  return absl::FailedPreconditionError("silent greeters cannot be built");
}

Registry<Greeter, GreeterDeps> Greeters() {
  return {"Greeter",
          {Plugin<Greeter, GreeterDeps>("prefix", ParsePrefix, BuildPrefix),
           Plugin<Greeter, GreeterDeps>("silent", ParseNothing, BuildSilent)}};
}

TEST(CatalogTest, ParsesTypedConfigAndBuildsWithDeps) {
  auto body = hcl::Parse("prefix = \"hi\"\n", "test.conf");
  ASSERT_TRUE(body.ok()) << body.status();
  config::Section data = config::Section::FromBody(*body, "plugin_data", "test.conf");
  auto builder = Greeters().Parse("prefix", data);
  ASSERT_TRUE(builder.ok()) << builder.status();
  ASSERT_TRUE(data.Finish().ok());
  auto greeter = (*builder)(GreeterDeps{"world"});
  ASSERT_TRUE(greeter.ok()) << greeter.status();
  EXPECT_EQ((*greeter)->Greet(), "hi world");
}

TEST(CatalogTest, UnknownKeysAreReportedByTheSection) {
  auto body = hcl::Parse("prefx = \"hi\"\n", "test.conf");
  ASSERT_TRUE(body.ok());
  config::Section data = config::Section::FromBody(*body, "plugin_data", "test.conf");
  ASSERT_TRUE(Greeters().Parse("prefix", data).ok());
  EXPECT_THAT(std::string(data.Finish().message()), HasSubstr("unknown key \"prefx\""));
}

TEST(CatalogTest, ParseAndBuildErrorsComeBack) {
  auto body = hcl::Parse("prefix = \"\"\n", "test.conf");
  ASSERT_TRUE(body.ok());
  config::Section data = config::Section::FromBody(*body, "plugin_data", "test.conf");
  EXPECT_THAT(std::string(Greeters().Parse("prefix", data).status().message()), HasSubstr("must not be empty"));

  auto silent = Greeters().Parse("silent", data);
  ASSERT_TRUE(silent.ok());
  EXPECT_EQ((*silent)(GreeterDeps{}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CatalogTest, UnknownPluginNamesTheKindAndTheKnownNames) {
  auto body = hcl::Parse("", "test.conf");
  ASSERT_TRUE(body.ok());
  config::Section data = config::Section::FromBody(*body, "plugin_data", "test.conf");
  auto r = Greeters().Parse("shouty", data);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "unknown Greeter plugin \"shouty\" (known: prefix, silent)");
  EXPECT_THAT(Greeters().Names(), ElementsAre("prefix", "silent"));
  EXPECT_TRUE(Greeters().Has("silent"));
  EXPECT_FALSE(Greeters().Has("shouty"));
}

TEST(CatalogTest, CardinalityRulesNameTheKindAndTheRule) {
  EXPECT_TRUE(CheckCardinality("DataStore", Cardinality::kExactlyOne, 1).ok());
  EXPECT_EQ(CheckCardinality("DataStore", Cardinality::kExactlyOne, 0).message(),
            "exactly one DataStore plugin must be configured (found 0)");
  EXPECT_EQ(CheckCardinality("DataStore", Cardinality::kExactlyOne, 2).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckCardinality("NodeAttestor", Cardinality::kAtLeastOne, 3).ok());
  EXPECT_EQ(CheckCardinality("NodeAttestor", Cardinality::kAtLeastOne, 0).message(),
            "at least one NodeAttestor plugin must be configured");
  EXPECT_TRUE(CheckCardinality("UpstreamAuthority", Cardinality::kAtMostOne, 0).ok());
  EXPECT_EQ(CheckCardinality("UpstreamAuthority", Cardinality::kAtMostOne, 2).message(),
            "at most one UpstreamAuthority plugin may be configured (found 2)");
  EXPECT_TRUE(CheckCardinality("Notifier", Cardinality::kAny, 0).ok());
  EXPECT_TRUE(CheckCardinality("Notifier", Cardinality::kAny, 7).ok());
}

}  // namespace
}  // namespace spirecvm::plugin
