#include "common/url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::http {
namespace {

using ::testing::HasSubstr;

TEST(UrlTest, SplitsSchemeHostPortAndPath) {
  auto u = ParseUrl("https://[::1]:8443/b?x=1#frag");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/b?x=1");
  u = ParseUrl("http://169.254.169.254");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/");
  EXPECT_EQ(ParseUrl("https://h")->port, 443);
  EXPECT_EQ(ParseUrl("https://h:1/")->port, 1);
  EXPECT_EQ(ParseUrl("https://h:65535/")->port, 65535);
  EXPECT_EQ(ParseUrl("https://h?q")->path, "/?q");
}

TEST(UrlTest, RefusesWhatNoConnectionCanUseNamingTheUrlAndTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"ftp://h/", "must start with http:// or https://"},
      {"http://", "has no host"},
      {"http://:80/", "has no host"},
      {"https://:secret@h/", "has user info"},
      {"https://user:secret@h:8443/", "has user info"},
      {"http://u@h/", "has user info"},
      {"http://h x/", "a space"},
      {"http://h:0/", "has an invalid port \"0\""},
      {"http://h:65536/", "has an invalid port \"65536\""},
      {"http://h:8x/", "has an invalid port \"8x\""},
      {"http://h:/", ""},  // an empty port is the scheme's
      {"http://[::1/", "has an unclosed '[' in its host"},
      {"http://[::1]x/", "has text after its IPv6 host"},
  };
  for (const auto& [url, why] : cases) {
    auto u = ParseUrl(url);
    if (*why == '\0') {
      EXPECT_TRUE(u.ok()) << url << ": " << u.status();
      continue;
    }
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(u.status().message(), HasSubstr(std::string("URL \"") + url + "\"")) << url;
    EXPECT_THAT(u.status().message(), HasSubstr(why)) << url;
  }
}

}  // namespace
}  // namespace spirecvm::http
