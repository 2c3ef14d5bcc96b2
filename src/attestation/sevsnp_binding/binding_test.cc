#include "attestation/sevsnp_binding/binding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/encoding.h"

namespace spirecvm::sevsnp {
namespace {

using ::testing::HasSubstr;

std::string Nonce() {
  std::string n;
  for (int i = 0; i < 32; ++i) n.push_back(static_cast<char>(i));
  return n;
}

// Pinned against an independent computation (Python hashlib), so a change of the derivation on either side
// of the wire is caught here and not in production.
TEST(SevSnpReportData, MatchesIndependentComputation) {
  std::string rd = SevSnpReportData(Nonce(), "spki-der", "{\n  \"accountId\" : \"123456789012\"\n}");
  ASSERT_EQ(rd.size(), kReportDataSize);
  EXPECT_EQ(HexEncode(rd),
            "190b0a3e63a3b89b9b2bc819c29df02df2a28cda946061287706ec82282316b8"
            "bca9659c133dbdae5fbf71a3f75e4b489a1a2f11264752f9a8c1f7e59e99d122");
}

TEST(SevSnpReportData, EveryInputMatters) {
  std::string base = SevSnpReportData(Nonce(), "spki", "doc");
  std::string other_nonce = Nonce();
  other_nonce[31] ^= 1;
  EXPECT_NE(base, SevSnpReportData(other_nonce, "spki", "doc"));
  EXPECT_NE(base, SevSnpReportData(Nonce(), "spkj", "doc"));
  EXPECT_NE(base, SevSnpReportData(Nonce(), "spki", "doc "));
}

TEST(SevSnpChallenge, RoundTripAndUnknownMembers) {
  SevSnpChallenge c{Nonce()};
  auto back = SevSnpChallenge::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->nonce, Nonce());
  auto extra = SevSnpChallenge::FromJson(R"({"later":1,"sev_snp_nonce":")" + Base64Encode(Nonce()) + R"("})");
  ASSERT_TRUE(extra.ok()) << extra.status();
}

TEST(SevSnpChallenge, RejectsBadNonces) {
  EXPECT_THAT(SevSnpChallenge::FromJson(R"({"sev_snp_nonce":")" + Base64Encode(std::string(31, 'a')) + R"("})")
                  .status()
                  .message(),
              HasSubstr("31 bytes"));
  EXPECT_THAT(SevSnpChallenge::FromJson(R"({"sev_snp_nonce":")" + Base64Encode(std::string(33, 'a')) + R"("})")
                  .status()
                  .message(),
              HasSubstr("33 bytes"));
  EXPECT_FALSE(SevSnpChallenge::FromJson(R"({"sev_snp_nonce":"***"})").ok());
  EXPECT_FALSE(SevSnpChallenge::FromJson(R"({"sev_snp_nonce":5})").ok());
  EXPECT_THAT(SevSnpChallenge::FromJson(R"({})").status().message(), HasSubstr("missing"));
  EXPECT_FALSE(SevSnpChallenge::FromJson("[]").ok());
  EXPECT_FALSE(SevSnpChallenge::FromJson("not json").ok());
  EXPECT_FALSE(SevSnpChallenge::FromJson(std::string(kMaxChallengeBytes + 1, ' ')).ok());
}

TEST(SevSnpAnswer, RoundTrips) {
  SevSnpAnswer a;
  a.report = std::string(1184, '\x01');
  a.cert_table = "";
  auto back = SevSnpAnswer::FromJson(a.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->report, a.report);
  EXPECT_EQ(back->cert_table, "");
  EXPECT_FALSE(back->is_unavailable());

  SevSnpAnswer u;
  u.unavailable = "no SEV-SNP guest device: is this an SEV-SNP VM?";
  back = SevSnpAnswer::FromJson(u.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->is_unavailable());
  EXPECT_EQ(back->unavailable, u.unavailable);
}

TEST(SevSnpAnswer, RejectsMalformed) {
  EXPECT_FALSE(SevSnpAnswer::FromJson("{}").ok());
  EXPECT_FALSE(SevSnpAnswer::FromJson(R"({"report":""})").ok());
  EXPECT_FALSE(SevSnpAnswer::FromJson(R"({"report":"!!"})").ok());
  EXPECT_FALSE(SevSnpAnswer::FromJson(R"({"report":"AAAA","cert_table":7})").ok());
  EXPECT_FALSE(SevSnpAnswer::FromJson(R"({"unavailable":""})").ok());
  EXPECT_FALSE(SevSnpAnswer::FromJson(R"({"unavailable":"x","report":"AAAA"})").ok());
  EXPECT_FALSE(SevSnpAnswer::FromJson(std::string(kMaxAnswerBytes + 1, ' ')).ok());
}

}  // namespace
}  // namespace spirecvm::sevsnp
