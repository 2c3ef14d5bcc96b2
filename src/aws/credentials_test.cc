#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <map>

namespace spirecvm::aws {
namespace {

Getenv Env(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CredentialsTest, ConfigKeysComeFirstThenTheEnvironment) {
  auto p = NewDefaultChain(
      {"AKIDCONFIG", "s1", Env({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s2"}})}, RealClock::Get());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->Get()->access_key_id, "AKIDCONFIG");
  p = NewDefaultChain(
      {"", "", Env({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s2"}, {"AWS_SESSION_TOKEN", "tok"}})},
      RealClock::Get());
  ASSERT_TRUE(p.ok());
  auto c = (*p)->Get();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->source, "environment");
}

TEST(CredentialsTest, RefusesHalfAKeyPair) {
  EXPECT_FALSE(NewDefaultChain({"AKID", "", Env({})}, RealClock::Get()).ok());
  EXPECT_FALSE(NewDefaultChain({"", "", Env({{"AWS_SECRET_ACCESS_KEY", "s"}})}, RealClock::Get()).ok());
}

TEST(CredentialsTest, ParsesTheImdsRoleDocument) {
  auto c = ParseImdsRoleCredentials(
      R"({"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"sec","Token":"t","Expiration":"2026-12-03T12:00:00Z"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "ASIA1");
  EXPECT_EQ(c->expiration, absl::FromUnixSeconds(1796299200));
  EXPECT_FALSE(ParseImdsRoleCredentials(R"({"AccessKeyId":"ASIA1"})").ok());
  EXPECT_FALSE(ParseImdsRoleCredentials("not json").ok());
}

}  // namespace
}  // namespace spirecvm::aws
