#include "attestation/awsiid/document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_replace.h"
#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/testing/test_util.h"

namespace spirecvm::awsiid {
namespace {

using ::testing::HasSubstr;

std::string ValidDoc() { return testing::MakeDocument({}); }

TEST(DocumentTest, ParsesRealDocumentKeepingExactBytes) {
  REQUIRE_AWS_VECTORS(dir);
  const std::string raw = testing::ReadFileOrDie(dir + "/iid/us-west-2-2018/document");
  auto doc = ParseDocument(raw);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->raw, raw);
  EXPECT_EQ(doc->account_id, "692406183521");
  EXPECT_EQ(doc->region, "us-west-2");
  EXPECT_EQ(doc->availability_zone, "us-west-2a");
  EXPECT_EQ(doc->instance_id, "i-0a30e04d85e6f8793");
  EXPECT_EQ(doc->image_id, "ami-6b8cef13");
  EXPECT_EQ(doc->instance_type, "t2.nano");
  EXPECT_EQ(doc->architecture, "x86_64");
  EXPECT_EQ(doc->private_ip, "172.31.46.215");
  EXPECT_EQ(doc->version, "2017-09-30");
  EXPECT_EQ(doc->pending_time, absl::FromCivil(absl::CivilSecond(2018, 5, 9, 12, 30, 58), absl::UTCTimeZone()));
  EXPECT_TRUE(doc->billing_products.empty());
  EXPECT_TRUE(doc->kernel_id.empty());
}

TEST(DocumentTest, ParsesGeneratedDocument) {
  auto doc = ParseDocument(ValidDoc());
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->account_id, "123456789012");
  EXPECT_EQ(doc->availability_zone, "us-east-1a");
  EXPECT_EQ(doc->instance_id, "i-0123456789abcdef0");
}

TEST(DocumentTest, AcceptsProductCodeArrays) {
  std::string raw =
      absl::StrReplaceAll(ValidDoc(), {{"\"billingProducts\" : null", "\"billingProducts\" : [ \"bp-6ba54002\" ]"}});
  auto doc = ParseDocument(raw);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_THAT(doc->billing_products, ::testing::ElementsAre("bp-6ba54002"));
}

struct BadCase {
  std::string from, to, message;
};

class DocumentRejectTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(DocumentRejectTest, RejectsWithClearMessage) {
  const BadCase& c = GetParam();
  std::string raw = ValidDoc();
  ASSERT_NE(raw.find(c.from), std::string::npos) << c.from;
  raw = absl::StrReplaceAll(raw, {{c.from, c.to}});
  auto doc = ParseDocument(raw);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(doc.status().message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, DocumentRejectTest,
    ::testing::Values(BadCase{"\"accountId\" : \"123456789012\",", "", "field \"accountId\" is missing"},
                      BadCase{"\"123456789012\"", "\"12345678901\"", "\"12345678901\" is not 12 digits"},
                      BadCase{"\"123456789012\"", "\"12345678901a\"", "is not 12 digits"},
                      BadCase{"\"123456789012\"", "123456789012", "field \"accountId\" is not a string"},
                      BadCase{"\"region\" : \"us-east-1\"", "\"region\" : \"\"", "field \"region\" is empty"},
                      BadCase{"\"region\" : \"us-east-1\"", "\"region\" : \"../etc\"", "is not an AWS region name"},
                      BadCase{"\"us-east-1a\"", "\"us-west-2a\"",
                              "\"us-west-2a\" is not an availability zone of region \"us-east-1\""},
                      BadCase{"\"i-0123456789abcdef0\"", "\"i-0123/../x\"", "is not an EC2 instance id"},
                      BadCase{"\"i-0123456789abcdef0\"", "\"i-0123456789ABCDEF0\"", "is not an EC2 instance id"},
                      BadCase{"\"ami-0123456789abcdef0\"", "\"ami-\"", "is not an AMI id"},
                      BadCase{"\"m6a.large\"", "\"m6a/large\"", "is not an instance type"},
                      BadCase{"\"2023-11-14T22:13:20Z\"", "\"yesterday\"", "is not an RFC 3339 time"},
                      BadCase{"\"privateIp\" : \"10.0.0.10\"", "\"privateIp\" : 10",
                              "field \"privateIp\" is neither a string nor null"},
                      BadCase{"\"kernelId\" : null", "\"kernelId\" : {}", "field \"kernelId\""},
                      BadCase{"\"billingProducts\" : null", "\"billingProducts\" : [1]", "holds a non-string element"},
                      BadCase{"\"version\"", "\"region\" : \"us-east-1\",\n  \"version\"",
                              "field \"region\" appears more than once"},
                      BadCase{"{", "[", "not valid JSON"}, BadCase{"\"accountId\"", "accountId", "not valid JSON"}));

TEST(DocumentTest, RejectsNonObjectEmptyOversizedAndDeep) {
  EXPECT_THAT(ParseDocument("[]").status().message(), HasSubstr("is not a JSON object"));
  EXPECT_THAT(ParseDocument("").status().message(), HasSubstr("is empty"));
  EXPECT_THAT(ParseDocument(std::string(kMaxDocumentBytes + 1, ' ')).status().message(),
              HasSubstr("more than the limit"));
  std::string deep = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_THAT(ParseDocument(deep).status().message(), HasSubstr("nests deeper"));
  // Brackets inside strings do not count as nesting.
  std::string raw = absl::StrReplaceAll(ValidDoc(), {{"\"x86_64\"", "\"[[[[[[[[[[\""}});
  EXPECT_TRUE(ParseDocument(raw).ok());
}

TEST(DocumentTest, ShapeChecks) {
  for (const char* r : {"us-east-1", "us-gov-west-1", "ap-southeast-5", "us-isob-east-1", "cn-northwest-1",
                        "il-central-1", "eusc-de-east-1"}) {
    EXPECT_TRUE(IsValidRegion(r)) << r;
  }
  for (const char* r : {"", "us", "us-east", "us-east-", "US-east-1", "us--east-1", "us-east-1a", "us_east-1",
                        "-us-east-1", "us-1", "us-east-1/..", "1-us-east"}) {
    EXPECT_FALSE(IsValidRegion(r)) << r;
  }
  EXPECT_TRUE(IsValidInstanceId("i-0a30e04d85e6f8793"));
  EXPECT_TRUE(IsValidInstanceId("i-1234abcd"));
  EXPECT_FALSE(IsValidInstanceId("i-1234abc"));
  EXPECT_FALSE(IsValidInstanceId("0a30e04d85e6f8793"));
  EXPECT_TRUE(IsValidAccountId("000000000000"));
  EXPECT_FALSE(IsValidAccountId("1234567890123"));
}

}  // namespace
}  // namespace spirecvm::awsiid
