#include "aws/xml.h"

#include <gtest/gtest.h>

namespace spirecvm::aws {
namespace {

TEST(XmlTest, ParsesNamespacedQueryAnswers) {
  auto x = ParseXml(R"(<?xml version="1.0"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <reservationSet><item><instancesSet><item><instanceId> i-1 </instanceId></item></instancesSet></item></reservationSet>
</DescribeInstancesResponse>)");
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(x->name, "DescribeInstancesResponse");
  const XmlElement* inst = x->Path("reservationSet/item/instancesSet/item");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->ChildText("instanceId"), "i-1");
  EXPECT_EQ(x->Find("instanceId")->text, "i-1");
  EXPECT_EQ(x->Path("reservationSet/nothing"), nullptr);
}

TEST(XmlTest, RefusesMalformedOversizedAndTooDeepDocuments) {
  EXPECT_FALSE(ParseXml("<a><b></a>").ok());
  EXPECT_FALSE(ParseXml("<a/>", 2).ok());
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "<a>";
  for (int i = 0; i < 70; ++i) deep += "</a>";
  auto x = ParseXml(deep);
  ASSERT_FALSE(x.ok());
  EXPECT_NE(x.status().message().find("64 levels"), std::string::npos);
}

TEST(XmlTest, DoesNotExpandExternalEntities) {
  auto x = ParseXml(R"(<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>)");
  if (x.ok()) {
    EXPECT_EQ(x->text.find("root:"), std::string::npos);
  }
}

}  // namespace
}  // namespace spirecvm::aws
