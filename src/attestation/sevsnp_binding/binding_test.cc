#include "attestation/sevsnp_binding/binding.h"

#include "gtest/gtest.h"

namespace spirecvm::sevsnp {
namespace {

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) { o += d[c >> 4]; o += d[c & 15]; }
  return o;
}

TEST(Binding, IsSha512OverDomainNonceAndTwoHashes) {
  // Pinned value: SHA-512("spire-cvm/sev-snp/v1" || 32*0x01 || SHA-256("spki") || SHA-256("doc")), computed with
  // python3 hashlib independently of this code.
  std::string nonce(32, '\x01');
  EXPECT_EQ(Hex(SevSnpReportData(nonce, "spki", "doc")), "fa163ca48db369124b8f12918ba4f3e239db679a24fe979b54234c611208f96a8efab91800056dc1942c6048d5d7d2ea3e5f35a74614a6033503eba8a9294d3b");
}

TEST(Binding, EveryInputChangesTheResult) {
  std::string nonce(32, '\x01'), other(32, '\x02');
  auto base = SevSnpReportData(nonce, "spki", "doc");
  EXPECT_EQ(base.size(), 64u);
  EXPECT_NE(base, SevSnpReportData(other, "spki", "doc"));
  EXPECT_NE(base, SevSnpReportData(nonce, "spki2", "doc"));
  EXPECT_NE(base, SevSnpReportData(nonce, "spki", "doc2"));
}

}  // namespace
}  // namespace spirecvm::sevsnp
