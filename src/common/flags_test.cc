#include "common/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::flags {
namespace {

using ::testing::ElementsAre;

struct Fixture {
  std::string spiffe_id;
  int64_t ttl = 0;
  bool admin = false;
  absl::Duration timeout = absl::ZeroDuration();
  std::vector<std::string> selectors;
  FlagSet fs{"entry create"};
  Fixture() {
    fs.String("spiffeID", &spiffe_id, "The SPIFFE ID that this record represents");
    fs.Int("x509SVIDTTL", &ttl, "The lifetime, in seconds, for x509-SVIDs");
    fs.Bool("admin", &admin, "If set, the SPIFFE ID in this entry will be granted access to the Server APIs");
    fs.Duration("timeout", &timeout, "Timeout");
    fs.StringList("selector", &selectors, "A colon-delimited type:value selector. Can be used more than once");
  }
};

TEST(FlagsTest, AllFourSyntaxes) {
  Fixture f;
  auto rest =
      f.fs.Parse({"-spiffeID", "spiffe://a/b", "-x509SVIDTTL=60", "--timeout", "1m30s", "--selector=unix:uid:0"});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_TRUE(rest->empty());
  EXPECT_EQ(f.spiffe_id, "spiffe://a/b");
  EXPECT_EQ(f.ttl, 60);
  EXPECT_EQ(f.timeout, absl::Seconds(90));
  EXPECT_THAT(f.selectors, ElementsAre("unix:uid:0"));
  EXPECT_TRUE(f.fs.IsSet("spiffeID"));
  EXPECT_TRUE(f.fs.IsSet("timeout"));
  EXPECT_FALSE(f.fs.IsSet("admin"));
}

TEST(FlagsTest, ValueMayStartWithDashOrBeEmpty) {
  Fixture f;
  auto rest = f.fs.Parse({"-x509SVIDTTL", "-5", "-spiffeID="});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(f.ttl, -5);
  EXPECT_EQ(f.spiffe_id, "");
  EXPECT_TRUE(f.fs.IsSet("spiffeID"));
}

TEST(FlagsTest, Bools) {
  {
    Fixture f;
    ASSERT_TRUE(f.fs.Parse({"-admin"}).ok());
    EXPECT_TRUE(f.admin);
  }
  {
    Fixture f;
    f.admin = true;
    ASSERT_TRUE(f.fs.Parse({"--admin=false"}).ok());
    EXPECT_FALSE(f.admin);
  }
  {
    Fixture f;
    ASSERT_TRUE(f.fs.Parse({"-admin=T"}).ok());
    EXPECT_TRUE(f.admin);
  }
  {
    // Like Go: "-admin false" sets admin and stops at the positional "false".
    Fixture f;
    auto rest = f.fs.Parse({"-admin", "false", "-spiffeID", "x"});
    ASSERT_TRUE(rest.ok());
    EXPECT_TRUE(f.admin);
    EXPECT_THAT(*rest, ElementsAre("false", "-spiffeID", "x"));
    EXPECT_EQ(f.spiffe_id, "");
  }
  {
    Fixture f;
    auto r = f.fs.Parse({"-admin=yes"});
    EXPECT_EQ(r.status().message(), "invalid boolean value \"yes\" for -admin: parse error");
  }
}

TEST(FlagsTest, Repeatable) {
  Fixture f;
  ASSERT_TRUE(f.fs.Parse({"-selector", "unix:uid:0", "-selector", "unix:gid:0", "--selector=k8s:ns:x"}).ok());
  EXPECT_THAT(f.selectors, ElementsAre("unix:uid:0", "unix:gid:0", "k8s:ns:x"));
}

TEST(FlagsTest, StopsAtFirstPositionalAndDoubleDash) {
  {
    Fixture f;
    auto rest = f.fs.Parse({"-admin", "pos", "-spiffeID", "x"});
    ASSERT_TRUE(rest.ok());
    EXPECT_THAT(*rest, ElementsAre("pos", "-spiffeID", "x"));
  }
  {
    Fixture f;
    auto rest = f.fs.Parse({"-admin", "--", "-spiffeID", "x"});
    ASSERT_TRUE(rest.ok());
    EXPECT_THAT(*rest, ElementsAre("-spiffeID", "x"));
    EXPECT_EQ(f.spiffe_id, "");
  }
  {
    Fixture f;
    auto rest = f.fs.Parse({"-", "x"});
    ASSERT_TRUE(rest.ok());
    EXPECT_THAT(*rest, ElementsAre("-", "x"));
  }
}

TEST(FlagsTest, Errors) {
  Fixture f;
  EXPECT_EQ(f.fs.Parse({"-nope"}).status().message(), "flag provided but not defined: -nope");
  EXPECT_EQ(f.fs.Parse({"--nope=1"}).status().message(), "flag provided but not defined: -nope");
  EXPECT_EQ(f.fs.Parse({"-spiffeID"}).status().message(), "flag needs an argument: -spiffeID");
  EXPECT_EQ(f.fs.Parse({"-x509SVIDTTL", "abc"}).status().message(),
            "invalid value \"abc\" for flag -x509SVIDTTL: parse error");
  EXPECT_EQ(f.fs.Parse({"-x509SVIDTTL", "99999999999999999999"}).status().message(),
            "invalid value \"99999999999999999999\" for flag -x509SVIDTTL: value out of range");
  EXPECT_EQ(
      f.fs.Parse({"-timeout", "10"}).status().message(),
      "invalid value \"10\" for flag -timeout: invalid duration \"10\": missing unit (one of ns, us, ms, s, m, h)");
  EXPECT_EQ(f.fs.Parse({"---x"}).status().message(), "bad flag syntax: ---x");
  EXPECT_EQ(f.fs.Parse({"-=x"}).status().message(), "bad flag syntax: -=x");
  EXPECT_EQ(f.fs.Parse({"-h"}).status().message(), "flag: help requested");
  EXPECT_EQ(f.fs.Parse({"--help"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FlagsTest, IntBases) {
  Fixture f;
  ASSERT_TRUE(f.fs.Parse({"-x509SVIDTTL=0x10"}).ok());
  EXPECT_EQ(f.ttl, 16);
  ASSERT_TRUE(f.fs.Parse({"-x509SVIDTTL=010"}).ok());
  EXPECT_EQ(f.ttl, 8);
  ASSERT_TRUE(f.fs.Parse({"-x509SVIDTTL=-9223372036854775808"}).ok());
  EXPECT_EQ(f.ttl, INT64_MIN);
  EXPECT_FALSE(f.fs.Parse({"-x509SVIDTTL=1.5"}).ok());
  EXPECT_FALSE(f.fs.Parse({"-x509SVIDTTL="}).ok());
}

TEST(FlagsTest, UsageLikeGo) {
  std::string socket = "/tmp/spire-server/private/api.sock";
  int64_t ttl = 0;
  bool v = false;
  bool d = true;
  absl::Duration timeout = absl::Seconds(5);
  std::vector<std::string> sel;
  FlagSet fs("entry create");
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.Int("ttl", &ttl, "TTL in seconds");
  fs.Bool("v", &v, "verbose");
  fs.Bool("debug", &d, "debug mode");
  fs.Duration("timeout", &timeout, "how long to wait");
  fs.StringList("selector", &sel, "A `type:value` selector.\nRepeatable");
  EXPECT_EQ(fs.Usage(),
            "Usage of entry create:\n"
            "  -debug\n"
            "    \tdebug mode (default true)\n"
            "  -selector type:value\n"
            "    \tA type:value selector.\n"
            "    \tRepeatable\n"
            "  -socketPath string\n"
            "    \tPath to the SPIRE Server API socket (default \"/tmp/spire-server/private/api.sock\")\n"
            "  -timeout duration\n"
            "    \thow long to wait (default 5s)\n"
            "  -ttl int\n"
            "    \tTTL in seconds\n"
            "  -v\tverbose\n");
}

}  // namespace
}  // namespace spirecvm::flags
