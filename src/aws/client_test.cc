// The client against a local fake AWS endpoint (cpp-httplib): signing by libcurl, retries, error naming.
#include "aws/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "aws/test_fake_aws.h"

namespace spirecvm::aws {
namespace {

using testing::FakeAws;
using ::testing::HasSubstr;

struct Fixture {
  explicit Fixture(const std::string& url, std::string token = "") {
    ClientOptions o;
    o.region = "eu-west-1";
    o.env = [url](const std::string& k) -> std::optional<std::string> {
      if (k == "AWS_ENDPOINT_URL") return url;
      return std::nullopt;
    };
    o.sleep = [this](absl::Duration d) { sleeps.push_back(d); };
    client = std::make_unique<Client>(o, NewStaticProvider({"AKIDTEST", "secret", token, absl::InfiniteFuture(), "t"}));
  }
  std::vector<absl::Duration> sleeps;
  std::unique_ptr<Client> client;
};

TEST(ClientTest, QuerySignsWithSigV4AndParsesTheAnswer) {
  FakeAws fake([](const httplib::Request&, httplib::Response& res) {
    res.set_content("<DescribeInstancesResponse><requestId>r</requestId></DescribeInstancesResponse>", "text/xml");
  });
  Fixture f(fake.url(), "session-token");
  auto x = f.client->Query("ec2", "DescribeInstances", "2016-11-15", {{"InstanceId.1", "i-0abc"}});
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(x->ChildText("requestId"), "r");
  EXPECT_THAT(fake.last_auth_, HasSubstr("AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
  EXPECT_THAT(fake.last_auth_, HasSubstr("/eu-west-1/ec2/aws4_request"));
  EXPECT_EQ(fake.last_token_, "session-token");
  EXPECT_THAT(fake.last_body_, HasSubstr("Action=DescribeInstances"));
  EXPECT_THAT(fake.last_body_, HasSubstr("InstanceId.1=i-0abc"));
}

TEST(ClientTest, RetriesThrottlingWithBackoffThenSucceeds) {
  std::atomic<int> n{0};
  FakeAws fake([&n](const httplib::Request&, httplib::Response& res) {
    if (++n <= 2) {
      res.status = n == 1 ? 400 : 503;
      res.set_content(
          "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message>"
          "</Error></Errors></Response>",
          "text/xml");
      return;
    }
    res.set_content("<R/>", "text/xml");
  });
  Fixture f(fake.url());
  auto x = f.client->Query("ec2", "DescribeInstances", "2016-11-15", {});
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(fake.requests_, 3);
  ASSERT_EQ(f.sleeps.size(), 2u);
  EXPECT_EQ(f.sleeps[1], 2 * f.sleeps[0]);
}

TEST(ClientTest, GivesUpOnPersistentThrottlingNamingTheAwsError) {
  FakeAws fake([](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"__type":"com.amazon#ThrottlingException","message":"Rate exceeded"})", "application/json");
  });
  Fixture f(fake.url());
  auto j = f.client->Json("kms", "TrentService", "ListKeys", nlohmann::json::object());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(j.status().message(), HasSubstr("AWS kms ListKeys: ThrottlingException: Rate exceeded (HTTP 400)"));
  EXPECT_THAT(j.status().message(), HasSubstr("after 4 attempts"));
  EXPECT_EQ(fake.requests_, 4);
  EXPECT_EQ(fake.last_target_, "TrentService.ListKeys");
}

TEST(ClientTest, DoesNotRetryOtherErrorsAndMapsThem) {
  FakeAws fake([](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content(
        "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not allowed</Message></Error>"
        "</ErrorResponse>",
        "text/xml");
  });
  Fixture f(fake.url());
  auto x = f.client->Query("iam", "GetInstanceProfile", "2010-05-08", {});
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(x.status().message(), HasSubstr("AWS iam GetInstanceProfile: AccessDenied: not allowed (HTTP 403)"));
  EXPECT_EQ(fake.requests_, 1);
}

TEST(ClientTest, UnreachableEndpointIsUnavailableAndNamed) {
  Fixture f("http://127.0.0.1:1");
  auto x = f.client->Query("sts", "GetCallerIdentity", "2011-06-15", {});
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(x.status().message(), HasSubstr("http://127.0.0.1:1"));
}

TEST(ClientTest, AssumeRoleUsesTheTemporaryCredentials) {
  FakeAws fake([](const httplib::Request& req, httplib::Response& res) {
    if (req.body.find("Action=AssumeRole") != std::string::npos) {
      res.set_content(
          "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIATEMP</AccessKeyId>"
          "<SecretAccessKey>s</SecretAccessKey><SessionToken>tok</SessionToken>"
          "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
          "text/xml");
      return;
    }
    res.set_content("<R/>", "text/xml");
  });
  Fixture base(fake.url());
  std::shared_ptr<Client> sts(std::move(base.client));
  auto provider = NewAssumeRoleProvider(sts, RoleArn("aws", "123456789012", "spire"), "spire-server", RealClock::Get());
  ClientOptions o = sts->options();
  Client ec2(o, provider);
  ASSERT_TRUE(ec2.Query("ec2", "DescribeInstances", "2016-11-15", {}).ok());
  EXPECT_THAT(fake.last_auth_, HasSubstr("Credential=ASIATEMP/"));
  EXPECT_EQ(fake.last_token_, "tok");
  EXPECT_EQ(RoleArn("aws-cn", "1", "r"), "arn:aws-cn:iam::1:role/r");
}

}  // namespace
}  // namespace spirecvm::aws
