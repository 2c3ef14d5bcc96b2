#include "aws/ec2_instance.h"

#include <gtest/gtest.h>

namespace spirecvm::aws {
namespace {

constexpr char kAnswer[] = R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 <reservationSet><item><instancesSet><item>
  <instanceId>i-0abc</instanceId><instanceState><code>16</code><name>running</name></instanceState>
  <tagSet><item><key>role</key><value>web</value></item><item><key>env</key><value>prod</value></item></tagSet>
  <groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>
  <iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/path/web-profile</arn></iamInstanceProfile>
  <rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>
  <blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><attachTime>2026-12-01T10:00:05.000Z</attachTime></ebs></item></blockDeviceMapping>
  <networkInterfaceSet><item><attachment><deviceIndex>0</deviceIndex><attachTime>2026-12-01T10:00:00.000Z</attachTime></attachment></item></networkInterfaceSet>
  <cpuOptions><coreCount>2</coreCount><threadsPerCore>1</threadsPerCore><amdSevSnp>enabled</amdSevSnp></cpuOptions>
 </item></instancesSet></item></reservationSet></DescribeInstancesResponse>)";

TEST(Ec2InstanceTest, ParsesTheFactsTheAttestorUses) {
  auto x = ParseXml(kAnswer);
  ASSERT_TRUE(x.ok()) << x.status();
  auto i = ParseDescribeInstances(*x, "i-0abc");
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->state, "running");
  ASSERT_EQ(i->tags.size(), 2u);
  EXPECT_EQ(i->tags[1], (std::pair<std::string, std::string>{"env", "prod"}));
  EXPECT_EQ(i->security_groups[0].second, "default");
  EXPECT_EQ(i->amd_sev_snp, "enabled");
  EXPECT_EQ(i->root_device_name, "/dev/xvda");
  ASSERT_TRUE(i->eni0_attach_time.has_value());
  ASSERT_TRUE(i->block_devices[0].second.has_value());
  EXPECT_EQ(*i->block_devices[0].second - *i->eni0_attach_time, absl::Seconds(5));
  EXPECT_EQ(*InstanceProfileName(i->instance_profile_arn), "web-profile");
  EXPECT_TRUE(absl::IsNotFound(ParseDescribeInstances(*x, "i-other").status()));
}

TEST(Ec2InstanceTest, InstanceProfileNamesAndRoles) {
  EXPECT_EQ(*InstanceProfileName("arn:aws:iam::1:instance-profile/p"), "p");
  EXPECT_FALSE(InstanceProfileName("arn:aws:iam::1:role/p").ok());
  EXPECT_FALSE(InstanceProfileName("nonsense").ok());
  auto x = ParseXml(
      "<GetInstanceProfileResponse><GetInstanceProfileResult><InstanceProfile><Roles><member>"
      "<Arn>arn:aws:iam::1:role/r1</Arn></member></Roles></InstanceProfile></GetInstanceProfileResult>"
      "</GetInstanceProfileResponse>");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(ParseInstanceProfileRoles(*x), std::vector<std::string>{"arn:aws:iam::1:role/r1"});
}

}  // namespace
}  // namespace spirecvm::aws
