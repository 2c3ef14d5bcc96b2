#include "server/api/agent_auth.h"

#include <gtest/gtest.h>

#include <string>

namespace spirecvm::server {
namespace {

// Blocks are never decoded here, so any base64 text stands for a certificate.
std::string Block(const std::string& body) {
  return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n";
}

const std::string kLeaf = Block("TEVBRi1ERVItYnl0ZXM=");
const std::string kIntermediate = Block("SU5URVJNRURJQVRFLURFUg==");

TEST(LeafFirstChainPemTest, ChainRepeatingTheLeafKeepsItOnce) {
  EXPECT_EQ(LeafFirstChainPem(kLeaf, kLeaf + kIntermediate), kLeaf + kIntermediate);
}

TEST(LeafFirstChainPemTest, ChainWithoutTheLeafFollowsIt) {
  EXPECT_EQ(LeafFirstChainPem(kLeaf, kIntermediate), kLeaf + kIntermediate);
  EXPECT_EQ(LeafFirstChainPem(kLeaf, kLeaf), kLeaf);
  EXPECT_EQ(LeafFirstChainPem(kLeaf, ""), kLeaf);
}

TEST(LeafFirstChainPemTest, LeafIsRecognisedWhateverItsLineEndings) {
  std::string crlf;
  for (char c : kLeaf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(LeafFirstChainPem(kLeaf, crlf + kIntermediate), kLeaf + kIntermediate);
}

TEST(LeafFirstChainPemTest, LeafWithoutFinalNewlineStillSeparatesTheBlocks) {
  const std::string leaf = kLeaf.substr(0, kLeaf.size() - 1);
  EXPECT_EQ(LeafFirstChainPem(leaf, kIntermediate), kLeaf + kIntermediate);
}

TEST(LeafFirstChainPemTest, ADifferentCertificateIsNeverDropped) {
  const std::string other = Block("TEVBRi1ERVItYnl0ZXN=");  // one character from the leaf
  EXPECT_EQ(LeafFirstChainPem(kLeaf, other + kIntermediate), kLeaf + other + kIntermediate);
}

}  // namespace
}  // namespace spirecvm::server
