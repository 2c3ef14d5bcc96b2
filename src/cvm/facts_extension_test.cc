#include "cvm/facts_extension.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "common/random.h"
#include "crypto/der.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "cvm/testing.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::cvm {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

TEST(FactsExtensionTest, OidDerMatchesOpenSsl) {
  ssl::Asn1ObjectPtr obj(OBJ_txt2obj(std::string(kNodeFactsOid).c_str(), 1));
  ASSERT_NE(obj, nullptr);
  std::string_view content(reinterpret_cast<const char*>(OBJ_get0_data(obj.get())), OBJ_length(obj.get()));
  EXPECT_EQ(content, kNodeFactsOidDer);
  EXPECT_EQ(OBJ_txt2nid(std::string(kFactsExtensionOid).c_str()), NID_subject_directory_attributes);
}

TEST(FactsExtensionTest, ValueRoundTripsAndSkipsOtherAttributes) {
  const std::string facts = *EncodeNodeFacts(SampleFacts());
  auto got = FactsFromExtensionValue(FactsExtensionValue(facts));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, SampleFacts());

  // Another attribute (id-at-countryOfCitizenship 1.3.6.1.5.5.7.9.4) before ours.
  const std::string other = der::Tlv(
      der::kSequence, der::Tlv(der::kOid, "\x2b\x06\x01\x05\x05\x07\x09\x04") + der::Tlv(der::kSet, "\x13\x02US"));
  const std::string value = FactsExtensionValue(facts);
  der::Reader outer(value);
  const std::string ours(*outer.Next(der::kSequence, "attributes"));
  EXPECT_TRUE(FactsFromExtensionValue(der::Tlv(der::kSequence, other + ours)).ok());
  EXPECT_TRUE(absl::IsNotFound(FactsFromExtensionValue(der::Tlv(der::kSequence, other)).status()));
  EXPECT_THAT(FactsFromExtensionValue(der::Tlv(der::kSequence, ours + ours)).status().message(),
              HasSubstr("appears twice"));
  EXPECT_FALSE(FactsFromExtensionValue("\x30\x05").ok());
}

struct Minted {
  ssl::X509Ptr ca, leaf;
};

Minted Mint(std::vector<std::pair<int, std::string>> extra) {
  auto ca_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams cp{.trust_domain = *spiffe::TrustDomain::Parse("example.org"),
                      .public_key = nullptr,
                      .not_before = kNow - absl::Minutes(1),
                      .not_after = kNow + absl::Hours(1)};
  Minted m;
  m.ca = *spiffe::SelfSignCa(ca_key->get(), cp, SystemRandom::Get());
  auto leaf_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::X509SvidParams p{.id = *spiffe::SpiffeId::Parse("spiffe://example.org/workload"),
                           .public_key = leaf_key->get(),
                           .not_before = kNow - absl::Minutes(1),
                           .not_after = kNow + absl::Minutes(30)};
  p.extra_extensions = std::move(extra);
  auto leaf = spiffe::SignX509Svid(spiffe::CaSigner{m.ca.get(), ca_key->get()}, p, SystemRandom::Get());
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  if (leaf.ok()) m.leaf = *std::move(leaf);
  return m;
}

TEST(FactsExtensionTest, SvidCarriesTheFactsAndStaysAnX509Svid) {
  const std::string value = FactsExtensionValue(*EncodeNodeFacts(SampleFacts()));
  Minted m = Mint({{NID_subject_directory_attributes, value}});
  ASSERT_NE(m.leaf, nullptr);
  // Through DER, as a peer receives it.
  std::string der = crypto::CertToDer(m.leaf.get());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509Ptr parsed(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(parsed, nullptr);
  auto facts = PeerFacts(parsed.get());
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(*facts, SampleFacts());
  // Non-critical, and the SVID profile and chain checks still accept the leaf.
  const int idx = X509_get_ext_by_NID(parsed.get(), NID_subject_directory_attributes, -1);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(parsed.get(), idx)), 0);
  EXPECT_TRUE(spiffe::ValidateX509SvidLeafProfile(parsed.get()).ok());
  EXPECT_TRUE(spiffe::VerifyX509Svid({parsed.get()}, {m.ca.get()}, kNow).ok());
}

TEST(FactsExtensionTest, SizeCostPerSvid) {
  // What docs/benchmarks.md records: the DER bytes the extension adds to one X509-SVID (same key type, ID).
  Minted with = Mint({{NID_subject_directory_attributes, FactsExtensionValue(*EncodeNodeFacts(SampleFacts()))}});
  Minted without = Mint({});
  ASSERT_NE(with.leaf, nullptr);
  ASSERT_NE(without.leaf, nullptr);
  const size_t added = crypto::CertToDer(with.leaf.get()).size() - crypto::CertToDer(without.leaf.get()).size();
  std::printf("node facts add %zu bytes to an X509-SVID (leaf without: %zu)\n", added,
              crypto::CertToDer(without.leaf.get()).size());
  // For docs/svid-evidence.md's decoding: CVM_FACTS_SVID_OUT=<file> keeps the minted leaf (DER).
  if (const char* out = std::getenv("CVM_FACTS_SVID_OUT"); out != nullptr) {
    const std::string der = crypto::CertToDer(with.leaf.get());
    std::FILE* f = std::fopen(out, "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(der.data(), 1, der.size(), f);
    std::fclose(f);
  }
  EXPECT_GT(added, 250u);
  EXPECT_LT(added, 320u);
}

TEST(FactsExtensionTest, PeerWithoutFactsIsNotFound) {
  Minted m = Mint({});
  ASSERT_NE(m.leaf, nullptr);
  EXPECT_TRUE(absl::IsNotFound(PeerFacts(m.leaf.get()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(PeerFacts(nullptr).status()));
}

TEST(FactsExtensionTest, MalformedFactsAreInvalid) {
  std::string facts = *EncodeNodeFacts(SampleFacts());
  facts.back() = 'x';  // attestedAt no longer ends in Z
  Minted m = Mint({{NID_subject_directory_attributes, FactsExtensionValue(facts)}});
  ASSERT_NE(m.leaf, nullptr);
  EXPECT_THAT(PeerFacts(m.leaf.get()).status().message(), HasSubstr("attestedAt"));
}

TEST(FactsExtensionTest, ProfileExtensionCannotBeReplaced) {
  // basicConstraints is the profile's: an extra one is refused rather than producing two.
  const std::string value("\x30\x00", 2);
  auto k = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::X509SvidParams p{.id = *spiffe::SpiffeId::Parse("spiffe://example.org/w"),
                           .public_key = k->get(),
                           .not_before = kNow - absl::Minutes(1),
                           .not_after = kNow + absl::Minutes(30)};
  p.extra_extensions = {{NID_basic_constraints, value}};
  auto ca_key2 = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams cp{.trust_domain = *spiffe::TrustDomain::Parse("example.org"),
                      .public_key = nullptr,
                      .not_before = kNow - absl::Minutes(1),
                      .not_after = kNow + absl::Hours(1)};
  auto ca2 = spiffe::SelfSignCa(ca_key2->get(), cp, SystemRandom::Get());
  auto leaf = spiffe::SignX509Svid(spiffe::CaSigner{ca2->get(), ca_key2->get()}, p, SystemRandom::Get());
  EXPECT_THAT(leaf.status().message(), HasSubstr("already set"));
}

}  // namespace
}  // namespace spirecvm::cvm
