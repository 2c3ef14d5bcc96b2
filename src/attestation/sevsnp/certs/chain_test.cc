#include "attestation/sevsnp/certs/chain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/escaping.h"
#include "attestation/sevsnp/sim/test_signers.h"
#include "attestation/sevsnp/test_util.h"

namespace spirecvm::sevsnp::certs {
namespace {

using ::testing::HasSubstr;

const absl::Time k2025 = absl::FromUnixSeconds(1735689600);  // 2025-01-01
const absl::Time k2026 = absl::FromUnixSeconds(1767225600);  // 2026-01-01

std::vector<ssl::X509Ptr> MustLoad(const std::string& pem) {
  auto c = LoadCertificates(pem);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : std::vector<ssl::X509Ptr>{};
}

TEST(PinnedArkTest, AllSixAmdChainsVerifyToTheirPinnedArk) {
  struct Case {
    const char* file;
    abi::Product product;
    abi::SigningKey kind;
  } cases[] = {
      {"amd/ask_ark_milan_vcek.pem", abi::Product::kMilan, abi::SigningKey::kVcek},
      {"amd/ask_ark_milan_vlek.pem", abi::Product::kMilan, abi::SigningKey::kVlek},
      {"amd/ask_ark_genoa_vcek.pem", abi::Product::kGenoa, abi::SigningKey::kVcek},
      {"amd/ask_ark_genoa_vlek.pem", abi::Product::kGenoa, abi::SigningKey::kVlek},
      {"amd/ask_ark_turin_vcek.pem", abi::Product::kTurin, abi::SigningKey::kVcek},
      {"amd/ask_ark_turin_vlek.pem", abi::Product::kTurin, abi::SigningKey::kVlek},
  };
  for (const auto& c : cases) {
    SEVSNP_READ_VECTOR(pem, c.file);
    auto certs = MustLoad(pem);
    ASSERT_EQ(certs.size(), 2u) << c.file;
    EXPECT_EQ(PinnedArkProduct(certs[1].get()), c.product) << c.file;
    abi::SigningKey kind;
    auto product = VerifyIntermediate(certs[0].get(), certs[1].get(), k2026, TrustConfig{}, &kind);
    ASSERT_TRUE(product.ok()) << c.file << ": " << product.status();
    EXPECT_EQ(*product, c.product) << c.file;
    EXPECT_EQ(kind, c.kind) << c.file;
    // The ARK is not pinned for another product's chain: swapping intermediates fails.
  }
}

TEST(PinnedArkTest, IntermediateOfAnotherProductDoesNotChain) {
  SEVSNP_READ_VECTOR(milan, "amd/ask_ark_milan_vcek.pem");
  SEVSNP_READ_VECTOR(genoa, "amd/ask_ark_genoa_vcek.pem");
  auto m = MustLoad(milan);
  auto g = MustLoad(genoa);
  auto r = VerifyIntermediate(g[0].get(), m[1].get(), k2026, TrustConfig{});
  EXPECT_THAT(r.status().message(), HasSubstr("was not issued by"));
}

TEST(ChainTest, RealMilanVcekChains) {
  SEVSNP_READ_VECTOR(pem, "amd/ask_ark_milan_vcek.pem");
  SEVSNP_READ_VECTOR(der, "snp/milan-vcek-debug/vcek.der");
  auto chain = MustLoad(pem);
  auto leaf = LoadCertificate(der);
  ASSERT_TRUE(leaf.ok());
  auto v = VerifyChain(leaf->get(), chain[0].get(), chain[1].get(), k2025, TrustConfig{});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->product, abi::Product::kMilan);
  EXPECT_TRUE(v->root_is_pinned_amd);
  EXPECT_EQ(v->endorsement.kind, abi::SigningKey::kVcek);
  // Outside the VCEK's validity (2022-09-24 .. 2029-09-24).
  auto expired = VerifyChain(leaf->get(), chain[0].get(), chain[1].get(), absl::FromUnixSeconds(1893456000) /* 2030 */,
                             TrustConfig{});
  EXPECT_THAT(expired.status().message(), HasSubstr("has expired"));
  auto early = VerifyChain(leaf->get(), chain[0].get(), chain[1].get(),
                           absl::FromUnixSeconds(1640995200) /* 2022-01-01 */, TrustConfig{});
  EXPECT_THAT(early.status().message(), HasSubstr("not yet valid"));
}

TEST(ChainTest, RealTurinVcekChainsToTurinArk) {
  SEVSNP_READ_VECTOR(pem, "snp/turin-vcek/cert_chain.pem");
  SEVSNP_READ_VECTOR(der, "snp/turin-vcek/vcek.der");
  auto chain = MustLoad(pem);
  ASSERT_EQ(chain.size(), 2u);
  auto leaf = LoadCertificate(der);
  ASSERT_TRUE(leaf.ok());
  auto v = VerifyChain(leaf->get(), chain[0].get(), chain[1].get(), k2026, TrustConfig{});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->product, abi::Product::kTurin);
  EXPECT_EQ(absl::BytesToHexString(v->root_fingerprint), kArkTurinSha256);
  EXPECT_EQ(v->endorsement.struct_version, 1);
  EXPECT_EQ(v->endorsement.hw_id.size(), 8u);
}

TEST(ChainTest, TamperedVcekSignatureFails) {
  SEVSNP_READ_VECTOR(pem, "amd/ask_ark_milan_vcek.pem");
  SEVSNP_READ_VECTOR(der, "snp/milan-vcek-debug/vcek.der");
  auto chain = MustLoad(pem);
  der[der.size() - 5] ^= 0x01;  // inside the signature BIT STRING
  auto leaf = LoadCertificate(der);
  ASSERT_TRUE(leaf.ok());
  auto v = VerifyChain(leaf->get(), chain[0].get(), chain[1].get(), k2025, TrustConfig{});
  EXPECT_THAT(v.status().message(), HasSubstr("does not verify"));
}

class SimChainTest : public ::testing::Test {
 protected:
  sim::TestOnlyAmdSigner& s_ = sim::SharedTestSigner(abi::Product::kMilan);
  TrustConfig Trusting(const sim::TestOnlyAmdSigner& s) {
    TrustConfig t;
    EXPECT_TRUE(AddInsecureExtraRootsPem(s.ArkPem(), t).ok());
    return t;
  }
  absl::StatusOr<VerifiedChain> Verify(X509* leaf, abi::SigningKey kind, absl::Time now, const TrustConfig& trust) {
    return VerifyChain(leaf, kind == abi::SigningKey::kVcek ? s_.ask() : s_.asvk(), s_.ark(), now, trust);
  }
};

TEST_F(SimChainTest, NonAmdArkIsRejectedUnlessInsecureExtraRoot) {
  auto leaf = LoadCertificate(s_.EndorsementDer(abi::SigningKey::kVcek));
  ASSERT_TRUE(leaf.ok());
  auto untrusted = Verify(leaf->get(), abi::SigningKey::kVcek, k2025, TrustConfig{});
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(untrusted.status().message(), HasSubstr("is not a pinned AMD ARK"));
  auto trusted = Verify(leaf->get(), abi::SigningKey::kVcek, k2025, Trusting(s_));
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  EXPECT_FALSE(trusted->root_is_pinned_amd);
  EXPECT_EQ(trusted->product, abi::Product::kMilan);
  // Another root with the very same names (an impostor ARK-Milan) is still not trusted.
  auto& impostor = sim::SharedTestSigner(abi::Product::kMilan, 1);
  auto other = VerifyChain(leaf->get(), impostor.ask(), impostor.ark(), k2025, Trusting(s_));
  EXPECT_THAT(other.status().message(), HasSubstr("is not a pinned AMD ARK"));
  // The impostor's ARK trusted, but our leaf under its ASK: the signature does not verify.
  auto mixed = VerifyChain(leaf->get(), impostor.ask(), impostor.ark(), k2025, Trusting(impostor));
  EXPECT_THAT(mixed.status().message(), HasSubstr("does not verify"));
}

TEST_F(SimChainTest, VlekChain) {
  auto leaf = LoadCertificate(s_.EndorsementDer(abi::SigningKey::kVlek));
  ASSERT_TRUE(leaf.ok());
  auto v = Verify(leaf->get(), abi::SigningKey::kVlek, k2025, Trusting(s_));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->endorsement.kind, abi::SigningKey::kVlek);
}

TEST_F(SimChainTest, KindMustMatchIntermediate) {
  // A VLEK-profile certificate issued by the ASK, and a VCEK-profile one issued by the ASVK.
  for (auto kind : {abi::SigningKey::kVcek, abi::SigningKey::kVlek}) {
    auto spec = s_.DefaultSpec(kind);
    spec.issue_with_other_intermediate = true;
    auto issued = s_.IssueEndorsement(spec);
    ASSERT_TRUE(issued.ok());
    const auto other = kind == abi::SigningKey::kVcek ? abi::SigningKey::kVlek : abi::SigningKey::kVcek;
    auto v = Verify(issued->cert.get(), other, k2025, Trusting(s_));
    EXPECT_THAT(v.status().message(), HasSubstr("but was issued by")) << static_cast<int>(kind);
  }
}

TEST_F(SimChainTest, ExpiredEndorsementCertificate) {
  auto spec = s_.DefaultSpec(abi::SigningKey::kVcek);
  spec.not_before = absl::FromUnixSeconds(1577836800);  // 2020
  spec.not_after = absl::FromUnixSeconds(1609459200);   // 2021
  auto issued = s_.IssueEndorsement(spec);
  ASSERT_TRUE(issued.ok());
  auto v = Verify(issued->cert.get(), abi::SigningKey::kVcek, k2025, Trusting(s_));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("SEV-VCEK\" has expired"));
}

TEST_F(SimChainTest, RevokedAskIsRejectedByArkSignedCrl) {
  auto leaf = LoadCertificate(s_.EndorsementDer(abi::SigningKey::kVcek));
  ASSERT_TRUE(leaf.ok());
  auto crl_pem = s_.IssueCrlPem({s_.ask()}, k2025 - absl::Hours(24), k2025 + absl::Hours(24 * 30));
  ASSERT_TRUE(crl_pem.ok()) << crl_pem.status();
  auto crl = LoadCrl(*crl_pem);
  ASSERT_TRUE(crl.ok()) << crl.status();
  TrustConfig t = Trusting(s_);
  t.crls[abi::Product::kMilan].push_back(*crl);
  auto v = Verify(leaf->get(), abi::SigningKey::kVcek, k2025, t);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(v.status().message(), HasSubstr("is revoked by the ARK-Milan CRL"));
  // The ASVK is not listed: the VLEK chain still verifies.
  auto vlek = LoadCertificate(s_.EndorsementDer(abi::SigningKey::kVlek));
  EXPECT_TRUE(Verify(vlek->get(), abi::SigningKey::kVlek, k2025, t).ok());
  // A stale CRL is an error, not a silent pass.
  auto stale = Verify(vlek->get(), abi::SigningKey::kVlek, k2025 + absl::Hours(24 * 60), t);
  EXPECT_THAT(stale.status().message(), HasSubstr("stale"));
}

TEST_F(SimChainTest, CrlSignedByAnotherArkIsRejected) {
  auto& impostor = sim::SharedTestSigner(abi::Product::kMilan, 1);
  auto crl_pem = impostor.IssueCrlPem({}, k2025 - absl::Hours(1), k2025 + absl::Hours(24));
  ASSERT_TRUE(crl_pem.ok());
  TrustConfig t = Trusting(s_);
  t.crls[abi::Product::kMilan].push_back(*LoadCrl(*crl_pem));
  auto leaf = LoadCertificate(s_.EndorsementDer(abi::SigningKey::kVcek));
  auto v = Verify(leaf->get(), abi::SigningKey::kVcek, k2025, t);
  EXPECT_THAT(v.status().message(), HasSubstr("bad ARK signature"));
}

// The revocation step alone: no CRL passes; a listed intermediate is refused; a stale or foreign
// CRL is an error; another product's CRL does not apply.
TEST_F(SimChainTest, CheckRevocationAlone) {
  TrustConfig t = Trusting(s_);
  EXPECT_TRUE(CheckRevocation(s_.ask(), s_.ark(), abi::Product::kMilan, k2025, t).ok());
  auto crl = LoadCrl(*s_.IssueCrlPem({s_.ask()}, k2025 - absl::Hours(24), k2025 + absl::Hours(24)));
  ASSERT_TRUE(crl.ok()) << crl.status();
  t.crls[abi::Product::kMilan].push_back(*crl);
  auto revoked = CheckRevocation(s_.ask(), s_.ark(), abi::Product::kMilan, k2025, t);
  EXPECT_EQ(revoked.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(revoked.message(), HasSubstr("is revoked by the ARK-Milan CRL"));
  EXPECT_TRUE(CheckRevocation(s_.asvk(), s_.ark(), abi::Product::kMilan, k2025, t).ok());
  EXPECT_TRUE(CheckRevocation(s_.ask(), s_.ark(), abi::Product::kGenoa, k2025, t).ok());
  EXPECT_THAT(CheckRevocation(s_.asvk(), s_.ark(), abi::Product::kMilan, k2025 + absl::Hours(48), t).message(),
              HasSubstr("stale"));
  TrustConfig foreign = Trusting(s_);
  auto& impostor = sim::SharedTestSigner(abi::Product::kMilan, 1);
  foreign.crls[abi::Product::kMilan].push_back(*LoadCrl(*impostor.IssueCrlPem({}, k2025 - absl::Hours(1), k2025)));
  // Issued by another ARK with the same name: refused on its signature.
  EXPECT_THAT(CheckRevocation(s_.ask(), s_.ark(), abi::Product::kMilan, k2025, foreign).message(),
              HasSubstr("bad ARK signature"));
}

// check_crl fails closed: no CRL for the product, or one from another issuer, is an error (not a skip); a chain
// verified against a CRL is not reused past the CRL's nextUpdate.
TEST_F(SimChainTest, RequiredCrlFailsClosedAndBoundsTheChain) {
  TrustConfig t = Trusting(s_);
  t.require_crl = true;
  auto none = CheckRevocation(s_.asvk(), s_.ark(), abi::Product::kMilan, k2025, t);
  EXPECT_EQ(none.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.message(), HasSubstr("no CRL for Milan"));
  auto& genoa = sim::SharedTestSigner(abi::Product::kGenoa);
  t.crls[abi::Product::kMilan].push_back(
      *LoadCrl(*genoa.IssueCrlPem({}, k2025 - absl::Hours(1), k2025 + absl::Hours(2))));
  auto foreign = CheckRevocation(s_.asvk(), s_.ark(), abi::Product::kMilan, k2025, t);
  EXPECT_FALSE(foreign.ok());
  EXPECT_THAT(foreign.message(), HasSubstr("not issued by the chain's root"));
  t.crls[abi::Product::kMilan] = {*LoadCrl(*s_.IssueCrlPem({}, k2025 - absl::Hours(1), k2025 + absl::Hours(2)))};
  absl::Time until = absl::InfiniteFuture();
  ASSERT_TRUE(CheckRevocation(s_.asvk(), s_.ark(), abi::Product::kMilan, k2025, t, &until).ok());
  EXPECT_EQ(until, k2025 + absl::Hours(2));
  auto leaf = LoadCertificate(s_.EndorsementDer(abi::SigningKey::kVlek));
  auto chain = Verify(leaf->get(), abi::SigningKey::kVlek, k2025, t);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->valid_until, k2025 + absl::Hours(2));
}

TEST(ChainCacheTest, HitsOnlyWithinValidity) {
  ChainCache cache(2);
  auto c = std::make_shared<VerifiedChain>();
  c->leaf_fingerprint = "fp1";
  c->valid_from = k2025;
  c->valid_until = k2026;
  c->verified_at = k2025;
  cache.Insert(c);
  EXPECT_NE(cache.Lookup("fp1", k2025 + absl::Hours(1)), nullptr);
  EXPECT_EQ(cache.Lookup("fp1", k2026 + absl::Hours(1)), nullptr);
  EXPECT_EQ(cache.Lookup("fp1", k2025 + absl::Hours(25)), nullptr);  // past the 24 h TTL
  EXPECT_EQ(cache.Lookup("fp2", k2025 + absl::Hours(1)), nullptr);
  // Concurrent use is safe.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 200; ++j) {
        auto e = std::make_shared<VerifiedChain>(*c);
        e->leaf_fingerprint = std::to_string(i * 1000 + j);
        cache.Insert(e);
        (void)cache.Lookup("fp1", k2025);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.size(), 2u);
}

}  // namespace
}  // namespace spirecvm::sevsnp::certs
