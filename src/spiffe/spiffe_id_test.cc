#include "spiffe/spiffe_id.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"

namespace spirecvm::spiffe {
namespace {

using ::testing::HasSubstr;

TEST(TrustDomainTest, Parse) {
  auto td = TrustDomain::Parse("example.org");
  ASSERT_TRUE(td.ok()) << td.status();
  EXPECT_EQ(td->name(), "example.org");
  EXPECT_EQ(td->IdString(), "spiffe://example.org");
  auto td2 = TrustDomain::Parse("spiffe://example.org");
  ASSERT_TRUE(td2.ok()) << td2.status();
  EXPECT_EQ(*td, *td2);
  EXPECT_TRUE(TrustDomain::Parse("a-b_c.0-9").ok());
}

TEST(TrustDomainTest, Rejects) {
  struct Case {
    const char* in;
    const char* why;
  } cases[] = {
      {"", "trust domain is missing"},
      {"Example.org", "uppercase"},
      {"example.org:8080", "port"},
      {"user@example.org", "userinfo"},
      {"exa%41mple.org", "percent-encoding"},
      {"exa mple", "limited to lowercase"},
      {"spiffe://example.org/path", "must not have a path"},
      {"spiffe://", "trust domain is missing"},
      {"http://example.org", "scheme"},
  };
  for (const auto& c : cases) {
    auto td = TrustDomain::Parse(c.in);
    ASSERT_FALSE(td.ok()) << c.in;
    EXPECT_THAT(td.status().message(), HasSubstr(c.why)) << c.in;
  }
}

TEST(SpiffeIdTest, ParseValid) {
  for (const char* s : {"spiffe://example.org", "spiffe://example.org/a", "spiffe://example.org/a/b/c",
                        "spiffe://example.org/A.b-C_d/..a/a..", "spiffe://1.2.3.4/x", "spiffe://a_b-c.d/...",
                        "spiffe://example.org/spire/agent/aws_iid/123456789012/us-east-1/i-0abc"}) {
    auto id = SpiffeId::Parse(s);
    ASSERT_TRUE(id.ok()) << s << ": " << id.status();
    EXPECT_EQ(id->ToString(), s);
  }
  auto id = SpiffeId::Parse("spiffe://example.org/a/b");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->trust_domain().name(), "example.org");
  EXPECT_EQ(id->path(), "/a/b");
  EXPECT_TRUE(id->MemberOf(*TrustDomain::Parse("example.org")));
  EXPECT_FALSE(id->MemberOf(*TrustDomain::Parse("example.com")));
  auto root = SpiffeId::Parse("spiffe://example.org");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->path(), "");
}

TEST(SpiffeIdTest, EveryRule) {
  struct Case {
    std::string in;
    const char* why;
  } cases[] = {
      {"", "cannot be empty"},
      {"example.org/a", "scheme"},
      {"SPIFFE://example.org/a", "scheme"},
      {"spiffe:/example.org/a", "scheme"},
      {"https://example.org/a", "scheme"},
      {"spiffe:///a", "trust domain is missing"},
      {"spiffe://", "trust domain is missing"},
      {"spiffe://Example.org/a", "uppercase"},
      {"spiffe://example.org:443/a", "port"},
      {"spiffe://user@example.org/a", "userinfo"},
      {"spiffe://user:pw@example.org/a", "port"},  // ':' comes first
      {"spiffe://example.org/a?x=1", "query"},
      {"spiffe://example.org?x=1", "query"},
      {"spiffe://example.org/a#frag", "fragment"},
      {"spiffe://example.org#frag", "fragment"},
      {"spiffe://example.org//a", "empty segments"},
      {"spiffe://example.org/a//b", "empty segments"},
      {"spiffe://example.org/", "trailing slash"},
      {"spiffe://example.org/a/", "trailing slash"},
      {"spiffe://example.org/./a", "dot segments"},
      {"spiffe://example.org/a/..", "dot segments"},
      {"spiffe://example.org/a/../b", "dot segments"},
      {"spiffe://example.org/a%20b", "percent-encoding"},
      {"spiffe://exa%6dple.org/a", "percent-encoding"},
      {"spiffe://example.org/a b", "path segment characters"},
      {"spiffe://example.org/a:b", "path segment characters"},
      {"spiffe://example.org/a@b", "path segment characters"},
      {"spiffe://example.org/caf\xc3\xa9", "path segment characters"},
      {"spiffe://ex*ample.org/a", "limited to lowercase"},
  };
  for (const auto& c : cases) {
    auto id = SpiffeId::Parse(c.in);
    ASSERT_FALSE(id.ok()) << c.in;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(id.status().message(), HasSubstr(c.why)) << c.in << " -> " << id.status();
  }
}

TEST(SpiffeIdTest, LengthLimit) {
  std::string prefix = "spiffe://example.org/";
  std::string ok = prefix + std::string(kMaxSpiffeIdLength - prefix.size(), 'a');
  ASSERT_EQ(ok.size(), 2048u);
  EXPECT_TRUE(SpiffeId::Parse(ok).ok());
  std::string too_long = ok + "a";
  auto id = SpiffeId::Parse(too_long);
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.status().message(), HasSubstr("maximum length of 2048"));
  auto td = TrustDomain::Parse("example.org");
  EXPECT_TRUE(SpiffeId::FromPath(*td, ok.substr(prefix.size() - 1)).ok());
  EXPECT_FALSE(SpiffeId::FromPath(*td, too_long.substr(prefix.size() - 1)).ok());
}

TEST(SpiffeIdTest, FromPath) {
  auto td = TrustDomain::Parse("example.org");
  ASSERT_TRUE(td.ok());
  auto id = SpiffeId::FromPath(*td, "/spire/server");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "spiffe://example.org/spire/server");
  auto root = SpiffeId::FromPath(*td, "");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->ToString(), "spiffe://example.org");
  EXPECT_THAT(SpiffeId::FromPath(*td, "a/b").status().message(), HasSubstr("start with '/'"));
  EXPECT_THAT(SpiffeId::FromPath(*td, "/a/").status().message(), HasSubstr("trailing slash"));
  EXPECT_THAT(SpiffeId::FromPath(*td, "/a/./b").status().message(), HasSubstr("dot segments"));
  EXPECT_THAT(SpiffeId::FromPath(*td, "/a?b").status().message(), HasSubstr("query"));
  EXPECT_FALSE(SpiffeId::FromPath(TrustDomain(), "/a").ok());
}

TEST(SpiffeIdTest, EqualityAndHash) {
  auto a = SpiffeId::Parse("spiffe://example.org/a");
  auto b = SpiffeId::Parse("spiffe://example.org/a");
  auto c = SpiffeId::Parse("spiffe://example.org/b");
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(*a == *c);
  absl::flat_hash_set<SpiffeId> set{*a, *b, *c};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(SpiffeId().empty());
  EXPECT_TRUE(TrustDomain().empty());
}

}  // namespace
}  // namespace spirecvm::spiffe
