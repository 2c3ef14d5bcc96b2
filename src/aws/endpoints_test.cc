#include "aws/endpoints.h"

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

TEST(EndpointsTest, RegionalAndGlobalDefaultsPerPartition) {
  auto e = ResolveEndpoint("aws", "ec2", "eu-west-1", Env({}));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->url, "https://ec2.eu-west-1.amazonaws.com");
  EXPECT_EQ(e->signing_region, "eu-west-1");
  e = ResolveEndpoint("aws", "iam", "eu-west-1", Env({}));
  EXPECT_EQ(e->url, "https://iam.amazonaws.com");
  EXPECT_EQ(e->signing_region, "us-east-1");
  e = ResolveEndpoint("aws-cn", "ec2", "cn-north-1", Env({}));
  EXPECT_EQ(e->url, "https://ec2.cn-north-1.amazonaws.com.cn");
  e = ResolveEndpoint("aws-us-gov", "organizations", "us-gov-east-1", Env({}));
  EXPECT_EQ(e->url, "https://organizations.us-gov-west-1.amazonaws.com");
  EXPECT_EQ(e->signing_region, "us-gov-west-1");
}

TEST(EndpointsTest, ServiceOverrideWinsOverGlobalOverride) {
  auto env = Env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"}, {"AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:6000"}});
  EXPECT_EQ(ResolveEndpoint("aws", "kms", "us-east-1", env)->url, "http://127.0.0.1:6000");
  EXPECT_EQ(ResolveEndpoint("aws", "ec2", "us-east-1", env)->url, "http://127.0.0.1:5000");
  EXPECT_EQ(ResolveEndpoint("aws", "ec2", "us-east-1", env)->signing_region, "us-east-1");
}

TEST(EndpointsTest, RefusesBadPartitionsRegionsAndSchemes) {
  EXPECT_FALSE(ResolveEndpoint("aws-eu", "ec2", "eu-west-1", Env({})).ok());
  EXPECT_FALSE(ResolveEndpoint("aws", "ec2", "cn-north-1", Env({})).ok());
  EXPECT_FALSE(ResolveEndpoint("aws-cn", "ec2", "us-east-1", Env({})).ok());
  EXPECT_FALSE(ResolveEndpoint("aws", "ec2", "us-east-1/../x", Env({})).ok());
  EXPECT_FALSE(ResolveEndpoint("aws", "ec2", "us-east-1", Env({{"AWS_ENDPOINT_URL_EC2", "ftp://x"}})).ok());
}

}  // namespace
}  // namespace spirecvm::aws
