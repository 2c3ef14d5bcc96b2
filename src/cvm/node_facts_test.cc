#include "cvm/node_facts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/der.h"
#include "cvm/testing.h"
#include "nlohmann/json.hpp"

namespace spirecvm::cvm {
namespace {

using ::testing::HasSubstr;

TEST(NodeFactsTest, RoundTrips) {
  NodeFacts f = SampleFacts();
  auto der = EncodeNodeFacts(f);
  ASSERT_TRUE(der.ok()) << der.status();
  EXPECT_LT(der->size(), 300u);  // compact: every SVID carries it
  auto back = DecodeNodeFacts(*der);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, f);

  f.signing_key = SigningKeyKind::kVcek;
  f.csp_id.clear();
  f.policy_debug = f.policy_migrate_ma = true;
  f.policy_smt = false;
  f.aws_account_id.clear();
  f.aws_region.clear();
  der = EncodeNodeFacts(f);
  ASSERT_TRUE(der.ok()) << der.status();
  EXPECT_EQ(*DecodeNodeFacts(*der), f);
}

TEST(NodeFactsTest, EncoderRefusesWhatTheDecoderWould) {
  auto refused = [](void (*edit)(NodeFacts&), const char* why) {
    NodeFacts f = SampleFacts();
    edit(f);
    auto der = EncodeNodeFacts(f);
    ASSERT_FALSE(der.ok()) << why;
    EXPECT_THAT(der.status().message(), HasSubstr(why));
  };
  refused([](NodeFacts& f) { f.measurement.resize(47); }, "measurement: 47 bytes, expected 48");
  refused([](NodeFacts& f) { f.host_data.clear(); }, "hostData");
  refused([](NodeFacts& f) { f.report_id.resize(33); }, "reportId");
  refused([](NodeFacts& f) { f.product.clear(); }, "product: empty");
  refused([](NodeFacts& f) { f.aws_region = "eu\nwest"; }, "awsRegion: not printable ASCII");
  refused([](NodeFacts& f) { f.csp_id = std::string(200, 'a'); }, "cspId: longer than");
  refused([](NodeFacts& f) { f.vmpl = 4; }, "vmpl");
  refused([](NodeFacts& f) { f.version = 2; }, "version");
  refused([](NodeFacts& f) { f.attested_at += absl::Milliseconds(5); }, "attestedAt");
}

TEST(NodeFactsTest, DecoderRefusesMalformedInput) {
  const std::string good = *EncodeNodeFacts(SampleFacts());
  EXPECT_THAT(DecodeNodeFacts(good + "x").status().message(), HasSubstr("trailing bytes"));
  EXPECT_THAT(DecodeNodeFacts(good.substr(0, good.size() - 1)).status().message(), HasSubstr("runs past the end"));
  EXPECT_THAT(DecodeNodeFacts("").status().message(), HasSubstr("missing"));
  EXPECT_THAT(DecodeNodeFacts(std::string(2000, '0')).status().message(), HasSubstr("more than the limit"));
  // Every truncation of the body is refused (never read past the end).
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(DecodeNodeFacts(good.substr(0, n)).ok()) << n;
  // A later version is refused by name.
  std::string v2 = good;
  ASSERT_EQ(v2.substr(3, 3), std::string("\x02\x01\x01", 3));  // 30 81 <len>, then version
  v2[5] = 2;
  EXPECT_THAT(DecodeNodeFacts(v2).status().message(), HasSubstr("version 2 is not supported"));
  // A field appended after attestedAt.
  std::string body = good.substr(3) + der::Bool(true);
  EXPECT_THAT(DecodeNodeFacts(der::Tlv(der::kSequence, body)).status().message(), HasSubstr("after attestedAt"));
}

TEST(NodeFactsTest, DecoderRefusesABadSigningKey) {
  NodeFacts f = SampleFacts();
  std::string der = *EncodeNodeFacts(f);
  const std::string vlek = der::Uint(der::kEnumerated, 1);
  size_t at = der.find(vlek);
  ASSERT_NE(at, std::string::npos);
  der[at + 2] = 7;
  EXPECT_THAT(DecodeNodeFacts(der).status().message(), HasSubstr("signingKey: 7"));
}

TEST(NodeFactsTest, TextNamesEveryFact) {
  const std::string t = NodeFactsText(SampleFacts());
  EXPECT_THAT(t, HasSubstr("  signing key:\t\tVLEK (CN=cc-eu-west-1.amazonaws.com)\n"));
  EXPECT_THAT(t, HasSubstr("  policy:\t\t\tdebug=false migrate_ma=false smt=true\n"));
  EXPECT_THAT(t, HasSubstr("  AWS region:\t\teu-west-1\n"));
  EXPECT_THAT(t, HasSubstr("  attested at:\t\t2026-09-21T14:13:20Z\n"));
}

TEST(NodeFactsTest, JsonNamesEveryFact) {
  auto j = nlohmann::json::parse(NodeFactsToJson(SampleFacts()));
  EXPECT_EQ(j["attestation_kind"], "aws_iid+sev_snp");
  EXPECT_EQ(j["measurement"], [] {
    std::string s;
    for (int i = 0; i < 48; ++i) s += "5a";
    return s;
  }());
  EXPECT_EQ(j["signing_key"], "VLEK");
  EXPECT_EQ(j["reported_tcb"], "db18000000000004");
  EXPECT_EQ(j["policy"]["smt"], true);
  EXPECT_EQ(j["aws"]["region"], "eu-west-1");
  EXPECT_EQ(j["attested_at"], "2026-09-21T14:13:20Z");
}

}  // namespace
}  // namespace spirecvm::cvm
