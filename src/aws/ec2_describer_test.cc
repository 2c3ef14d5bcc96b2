// The aws_iid AWS API checks against a local fake AWS endpoint (the moto-backed e2e test covers the real API).
#include "aws/ec2_describer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "aws/test_fake_aws.h"

namespace spirecvm::aws {
namespace {

using testing::FakeAws;
using ::testing::HasSubstr;

constexpr char kInstance[] = R"(<DescribeInstancesResponse><reservationSet><item><instancesSet><item>
  <instanceId>i-0123456789abcdef0</instanceId><instanceState><name>STATE</name></instanceState>
  <tagSet><item><key>role</key><value>web</value></item></tagSet>
  <groupSet><item><groupId>sg-1</groupId><groupName>nodes</groupName></item></groupSet>
  <iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/node</arn></iamInstanceProfile>
  <rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>
  <blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><attachTime>ROOT</attachTime></ebs></item></blockDeviceMapping>
  <networkInterfaceSet><item><attachment><attachTime>2026-12-01T10:00:00.000Z</attachTime><deviceIndex>0</deviceIndex></attachment></item></networkInterfaceSet>
  CPU
</item></instancesSet></item></reservationSet></DescribeInstancesResponse>)";

struct World {
  std::string state = "running", root_attach = "2026-12-01T10:00:03.000Z";
  std::string cpu = "<cpuOptions><amdSevSnp>enabled</amdSevSnp></cpuOptions>";
  bool ec2_error = false;
  std::string org_accounts = R"([{"Id":"123456789012","Status":"ACTIVE"},{"Id":"999999999999","Status":"SUSPENDED"}])";
};

class Ec2DescriberTest : public ::testing::Test {
 protected:
  Ec2DescriberTest()
      : fake_([this](const httplib::Request& req, httplib::Response& res) {
          if (req.get_header_value("X-Amz-Target") == "AWSOrganizationsV20161128.ListAccounts") {
            res.set_content(absl::StrCat(R"({"Accounts":)", w_.org_accounts, "}"), "application/x-amz-json-1.1");
          } else if (w_.ec2_error) {
            res.status = 403;
            res.set_content(
                "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not "
                "authorized</Message></Error></Errors></Response>",
                "text/xml");
          } else if (req.body.find("Action=DescribeInstances") != std::string::npos) {
            res.set_content(
                absl::StrReplaceAll(kInstance, {{"STATE", w_.state}, {"ROOT", w_.root_attach}, {"CPU", w_.cpu}}),
                "text/xml");
          } else if (req.body.find("Action=GetInstanceProfile") != std::string::npos) {
            res.set_content(
                "<GetInstanceProfileResponse><GetInstanceProfileResult><InstanceProfile><Roles><member>"
                "<Arn>arn:aws:iam::123456789012:role/node-role</Arn></member></Roles></InstanceProfile>"
                "</GetInstanceProfileResult></GetInstanceProfileResponse>",
                "text/xml");
          } else {
            res.status = 400;
            res.set_content("<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>", "text/xml");
          }
        }) {
    doc_.account_id = "123456789012";
    doc_.region = "us-east-1";
    doc_.instance_id = "i-0123456789abcdef0";
  }

  absl::StatusOr<awsiid::InstanceDetails> Describe(Ec2DescriberSettings s = {}) {
    const std::string url = fake_.url();
    s.access_key_id = "AKID";
    s.secret_access_key = "secret";
    s.env = [url](const std::string& k) -> std::optional<std::string> {
      if (k == "AWS_ENDPOINT_URL") return url;
      return std::nullopt;
    };
    s.sleep = [](absl::Duration) {};
    auto d = Ec2Describer::Create(s, RealClock::Get());
    if (!d.ok()) return d.status();
    return (*d)->Describe(doc_);
  }

  World w_;
  FakeAws fake_;
  awsiid::InstanceIdentityDocument doc_;
};

TEST_F(Ec2DescriberTest, DescribesTagsGroupsRolesAndTheSevSnpOption) {
  Ec2DescriberSettings s;
  s.require_sev_snp_cpu_option = true;
  auto d = Describe(s);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->tags, (std::vector<std::pair<std::string, std::string>>{{"role", "web"}}));
  EXPECT_EQ(d->security_group_ids, std::vector<std::string>{"sg-1"});
  EXPECT_EQ(d->security_group_names, std::vector<std::string>{"nodes"});
  EXPECT_EQ(d->iam_role_arns, std::vector<std::string>{"arn:aws:iam::123456789012:role/node-role"});
  EXPECT_TRUE(d->amd_sev_snp_enabled);
}

TEST_F(Ec2DescriberTest, InstanceProfileSelectorsCanBeDisabled) {
  Ec2DescriberSettings s;
  s.disable_instance_profile_selectors = true;
  auto d = Describe(s);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->iam_role_arns.empty());
}

TEST_F(Ec2DescriberTest, RefusesAnInstanceThatIsNotRunning) {
  w_.state = "stopped";
  auto d = Describe();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("\"stopped\", not running"));
}

TEST_F(Ec2DescriberTest, RefusesAMissingSevSnpOptionOnlyWhenRequired) {
  w_.cpu = "<cpuOptions><coreCount>1</coreCount></cpuOptions>";
  auto d = Describe();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->amd_sev_snp_enabled);
  Ec2DescriberSettings s;
  s.require_sev_snp_cpu_option = true;
  d = Describe(s);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(d.status().message(), HasSubstr("CpuOptions.AmdSevSnp"));
}

TEST_F(Ec2DescriberTest, RefusesARootVolumeAttachedLongAfterLaunchUnlessSkipped) {
  w_.root_attach = "2026-12-01T11:00:00.000Z";
  auto d = Describe();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("3600 s apart"));
  Ec2DescriberSettings s;
  s.skip_block_device = true;
  EXPECT_TRUE(Describe(s).ok());
}

TEST_F(Ec2DescriberTest, VerifiesTheOrganization) {
  Ec2DescriberSettings s;
  s.organization.enabled = true;
  s.organization.management_account_id = "111122223333";
  EXPECT_TRUE(Describe(s).ok());
  doc_.account_id = "999999999999";  // SUSPENDED
  auto d = Describe(s);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("not an ACTIVE account of the AWS Organization"));
}

TEST_F(Ec2DescriberTest, NamesTheAwsErrorOfAFailedCall) {
  w_.ec2_error = true;
  auto d = Describe();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(d.status().message(),
              HasSubstr("AWS ec2 DescribeInstances: UnauthorizedOperation: You are not authorized (HTTP 403)"));
}

TEST_F(Ec2DescriberTest, RefusesAPartitionThatDoesNotHoldTheRegion) {
  Ec2DescriberSettings s;
  s.partition = "aws-cn";  // the IID's region is not in aws-cn
  auto d = Describe(s);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("does not belong to partition"));
  s.partition = "mars";
  EXPECT_FALSE(Describe(s).ok());
}

}  // namespace
}  // namespace spirecvm::aws
