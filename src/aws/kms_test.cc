// The KMS calls against a local fake endpoint: the JSON protocol's target and body, pagination, error naming.
#include "aws/kms.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/test_fake_aws.h"
#include "common/encoding.h"

namespace spirecvm::aws {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

Kms KmsAt(const std::string& url) {
  ClientOptions o;
  o.region = "us-east-1";
  o.env = [url](const std::string& k) -> std::optional<std::string> {
    if (k == "AWS_ENDPOINT_URL_KMS") return url;
    return std::nullopt;
  };
  o.sleep = [](absl::Duration) {};
  return Kms(std::make_shared<Client>(o, NewStaticProvider({"AKIDTEST", "secret", "", absl::InfiniteFuture(), "t"})));
}

TEST(KmsTest, SignSendsTheDigestAsADigestAndDecodesTheSignature) {
  testing::FakeAws fake([](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"Signature", Base64Encode("sig-bytes")}}.dump(), "application/x-amz-json-1.1");
  });
  auto sig = KmsAt(fake.url()).SignDigest("arn:k", "ECDSA_SHA_256", std::string(32, '\x01'));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(*sig, "sig-bytes");
  EXPECT_EQ(fake.last_target_, "TrentService.Sign");
  json body = json::parse(fake.last_body_);
  EXPECT_EQ(body["MessageType"], "DIGEST");
  EXPECT_EQ(body["SigningAlgorithm"], "ECDSA_SHA_256");
  EXPECT_EQ(body["Message"], Base64Encode(std::string(32, '\x01')));
  EXPECT_THAT(fake.last_auth_, HasSubstr("/us-east-1/kms/aws4_request"));
}

TEST(KmsTest, ListAliasesFollowsEveryPage) {
  testing::FakeAws fake([](const httplib::Request& req, httplib::Response& res) {
    json in = json::parse(req.body);
    json out;
    if (!in.contains("Marker")) {
      out = {{"Aliases", {{{"AliasName", "alias/a"}, {"TargetKeyId", "k1"}, {"LastUpdatedDate", 1.8e9}}}},
             {"Truncated", true},
             {"NextMarker", "m2"}};
    } else {
      out = {{"Aliases", {{{"AliasName", "alias/b"}}}}, {"Truncated", false}};
    }
    res.set_content(out.dump(), "application/x-amz-json-1.1");
  });
  auto aliases = KmsAt(fake.url()).ListAliases();
  ASSERT_TRUE(aliases.ok()) << aliases.status();
  ASSERT_EQ(aliases->size(), 2u);
  EXPECT_EQ((*aliases)[0].target_key_id, "k1");
  EXPECT_EQ((*aliases)[0].last_updated, absl::FromUnixSeconds(1'800'000'000));
  EXPECT_EQ((*aliases)[1].name, "alias/b");
  EXPECT_TRUE((*aliases)[1].target_key_id.empty());
  EXPECT_EQ(fake.requests_, 2);
}

TEST(KmsTest, AnAwsErrorIsNamedWithItsCode) {
  testing::FakeAws fake([](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(json{{"__type", "NotFoundException"}, {"message", "Key 'k' does not exist"}}.dump(),
                    "application/x-amz-json-1.1");
  });
  auto meta = KmsAt(fake.url()).DescribeKey("k");
  ASSERT_FALSE(meta.ok());
  EXPECT_TRUE(absl::IsNotFound(meta.status())) << meta.status();
  EXPECT_THAT(std::string(meta.status().message()), HasSubstr("AWS kms DescribeKey: NotFoundException"));
}

TEST(KmsTest, KeyMetadataWithoutArnIsRefused) {
  EXPECT_FALSE(ParseKeyMetadata(json{{"KeyMetadata", {{"KeyId", "k"}}}}).ok());
  auto m = ParseKeyMetadata(json{{"KeyMetadata",
                                  {{"KeyId", "k"},
                                   {"Arn", "arn:k"},
                                   {"CustomerMasterKeySpec", "RSA_2048"},
                                   {"Enabled", true},
                                   {"CreationDate", 1.8e9}}}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->key_spec, "RSA_2048");
  EXPECT_TRUE(m->enabled);
}

}  // namespace
}  // namespace spirecvm::aws
