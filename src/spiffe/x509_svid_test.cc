#include "spiffe/x509_svid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace spirecvm::spiffe {
namespace {

using crypto::KeyType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);

struct Ca {
  ssl::EvpPkeyPtr key;
  ssl::X509Ptr cert;
  CaSigner signer() const { return CaSigner{cert.get(), key.get()}; }
};

Ca MakeRootCa(KeyType t, const char* td = "example.org", absl::Duration ttl = absl::Hours(24)) {
  Ca ca;
  ca.key = *crypto::GenerateKey(t);
  CaParams p{.trust_domain = *TrustDomain::Parse(td),
             .public_key = nullptr,
             .not_before = kNow - absl::Minutes(1),
             .not_after = kNow + ttl};
  auto cert = SelfSignCa(ca.key.get(), p, SystemRandom::Get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  ca.cert = *std::move(cert);
  return ca;
}

std::string ExtText(const X509* cert, int nid, bool* critical = nullptr) {
  int idx = X509_get_ext_by_NID(cert, nid, -1);
  if (idx < 0) return "<absent>";
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  if (critical != nullptr) *critical = X509_EXTENSION_get_critical(ext) == 1;
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509V3_EXT_print(bio.get(), ext, 0, 0);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string NameText(const X509_NAME* name) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Deliberately malformed certificates for the negative profile tests: every extension is given as
// OpenSSL config text ({nid, "critical,..."}), so each test states exactly what is wrong.
ssl::X509Ptr MakeCustomCert(const Ca& ca, EVP_PKEY* subject_key, const std::vector<std::pair<int, std::string>>& exts) {
  ssl::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get()));
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("bad"), -1, -1, 0);
  auto nb = crypto::ToAsn1Time(kNow - absl::Minutes(1));
  auto na = crypto::ToAsn1Time(kNow + absl::Hours(1));
  X509_set1_notBefore(cert.get(), nb->get());
  X509_set1_notAfter(cert.get(), na->get());
  X509_set_pubkey(cert.get(), subject_key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : exts) {
    ssl::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    EXPECT_TRUE(ext) << OBJ_nid2sn(nid) << "=" << value << ": " << ssl::DrainErrors();
    X509_add_ext(cert.get(), ext.get(), -1);
  }
  X509_sign(cert.get(), ca.key.get(), EVP_sha256());
  return cert;
}

const std::vector<std::pair<int, std::string>> kGoodLeafExts = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement"},
    {NID_ext_key_usage, "serverAuth,clientAuth"},
    {NID_subject_alt_name, "URI:spiffe://example.org/w"},
};

std::vector<std::pair<int, std::string>> With(int nid, std::string value) {
  auto out = kGoodLeafExts;
  bool replaced = false;
  for (auto& e : out) {
    if (e.first == nid) {
      e.second = value;
      replaced = true;
    }
  }
  if (!replaced) out.emplace_back(nid, std::move(value));
  return out;
}

std::vector<std::pair<int, std::string>> Without(int nid) {
  std::vector<std::pair<int, std::string>> out;
  for (const auto& e : kGoodLeafExts) {
    if (e.first != nid) out.push_back(e);
  }
  return out;
}

class X509SvidTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(X509SvidTest, MintedLeafMeetsEveryRule) {
  Ca ca = MakeRootCa(GetParam());
  ASSERT_TRUE(ValidateSigningCaProfile(ca.cert.get(), *TrustDomain::Parse("example.org")).ok());
  auto leaf_key = crypto::GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(leaf_key.ok());
  X509SvidParams p{.id = *SpiffeId::Parse("spiffe://example.org/workload/a"),
                   .public_key = leaf_key->get(),
                   .not_before = kNow,
                   .not_after = kNow + absl::Hours(1),
                   .dns_names = {"a.example.org", "b.example.org"}};
  auto leaf = SignX509Svid(ca.signer(), p, SystemRandom::Get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  const X509* c = leaf->get();

  EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
  // Exactly one URI SAN, plus the DNS names.
  EXPECT_THAT(crypto::UriSans(c), ElementsAre("spiffe://example.org/workload/a"));
  EXPECT_THAT(crypto::DnsSans(c), ElementsAre("a.example.org", "b.example.org"));
  bool crit = false;
  EXPECT_EQ(ExtText(c, NID_basic_constraints, &crit), "CA:FALSE");
  EXPECT_TRUE(crit);
  EXPECT_EQ(ExtText(c, NID_key_usage, &crit), "Digital Signature, Key Encipherment, Key Agreement");
  EXPECT_TRUE(crit);
  EXPECT_EQ(ExtText(c, NID_ext_key_usage, &crit), "TLS Web Server Authentication, TLS Web Client Authentication");
  EXPECT_FALSE(crit);
  std::string ski = ExtText(c, NID_subject_key_identifier);
  EXPECT_NE(ski, "<absent>");
  // AKI of the leaf is the CA's SKI.
  EXPECT_THAT(ExtText(c, NID_authority_key_identifier), HasSubstr(ExtText(ca.cert.get(), NID_subject_key_identifier)));
  // Subject like SPIRE: C=US, O=SPIRE, x500UniqueIdentifier, CN = first DNS name.
  std::string unique_id = HexEncode(crypto::Sha256("spiffe://example.org/workload/a").substr(0, 16));
  EXPECT_EQ(NameText(X509_get_subject_name(c)),
            absl::StrCat("CN=a.example.org,x500UniqueIdentifier=", unique_id, ",O=SPIRE,C=US"));
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(ca.cert.get())), 0);
  EXPECT_EQ(crypto::NotBefore(c), kNow);
  EXPECT_EQ(crypto::NotAfter(c), kNow + absl::Hours(1));
  // Serial: positive, at most 128 bits.
  ssl::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), nullptr));
  EXPECT_FALSE(BN_is_negative(serial.get()));
  EXPECT_LE(BN_num_bits(serial.get()), 128);
  // Signature digest.
  int md_nid = 0;
  ASSERT_EQ(X509_get_signature_info(leaf->get(), &md_nid, nullptr, nullptr, nullptr), 1);
  EXPECT_EQ(md_nid, GetParam() == KeyType::kEcP384 ? NID_sha384 : NID_sha256);

  auto id = ValidateX509SvidLeafProfile(c);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "spiffe://example.org/workload/a");
  auto verified = VerifyX509Svid({c}, {ca.cert.get()}, kNow + absl::Minutes(1));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, *id);
}

INSTANTIATE_TEST_SUITE_P(CaKeys, X509SvidTest, ::testing::Values(KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048),
                         [](const auto& info) {
                           std::string n(crypto::KeyTypeName(info.param));
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(X509SvidBasicTest, CaProfile) {
  Ca ca = MakeRootCa(KeyType::kEcP256);
  const X509* c = ca.cert.get();
  bool crit = false;
  EXPECT_EQ(ExtText(c, NID_basic_constraints, &crit), "CA:TRUE");
  EXPECT_TRUE(crit);
  EXPECT_EQ(ExtText(c, NID_key_usage, &crit), "Digital Signature, Certificate Sign, CRL Sign");
  EXPECT_TRUE(crit);
  EXPECT_THAT(crypto::UriSans(c), ElementsAre("spiffe://example.org"));
  EXPECT_NE(ExtText(c, NID_subject_key_identifier), "<absent>");
  EXPECT_EQ(NameText(X509_get_subject_name(c)), "O=SPIFFE,C=US");
  EXPECT_TRUE(ValidateSigningCaProfile(c, *TrustDomain::Parse("example.org")).ok());
  auto other = ValidateSigningCaProfile(c, *TrustDomain::Parse("example.com"));
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.message(), HasSubstr("not the trust domain"));
  // A CA is never a valid leaf.
  EXPECT_FALSE(ValidateX509SvidLeafProfile(c).ok());
}

// SPIRE's Helm chart renders ca_subject { country = ["ARPA"] }: Go writes any printable country as a
// PrintableString, so the CA must be signable with it (OpenSSL's string table alone would demand two letters).
TEST(X509SvidBasicTest, CaSubjectTakesSpireHelmDefaultCountry) {
  auto key = crypto::GenerateKey(KeyType::kEcP256);
  CaParams p{.trust_domain = *TrustDomain::Parse("example.org"),
             .public_key = nullptr,
             .not_before = kNow - absl::Minutes(1),
             .not_after = kNow + absl::Hours(1),
             .subject_country = "ARPA",
             .subject_org = "Example",
             .subject_cn = "example.org"};
  auto cert = SelfSignCa(key->get(), p, SystemRandom::Get());
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(NameText(X509_get_subject_name(cert->get())), "CN=example.org,O=Example,C=ARPA");
  const X509_NAME_ENTRY* c = X509_NAME_get_entry(X509_get_subject_name(cert->get()), 0);
  EXPECT_EQ(ASN1_STRING_type(X509_NAME_ENTRY_get_data(c)), V_ASN1_PRINTABLESTRING);
}

TEST(X509SvidBasicTest, SerialsAreRandomAndUnique) {
  Ca ca = MakeRootCa(KeyType::kEcP256);
  auto leaf_key = crypto::GenerateKey(KeyType::kEcP256);
  X509SvidParams p{.id = *SpiffeId::Parse("spiffe://example.org/w"),
                   .public_key = leaf_key->get(),
                   .not_before = kNow,
                   .not_after = kNow + absl::Hours(1)};
  absl::flat_hash_set<std::string> serials;
  for (int i = 0; i < 50; ++i) {
    auto leaf = SignX509Svid(ca.signer(), p, SystemRandom::Get());
    ASSERT_TRUE(leaf.ok());
    serials.insert(crypto::SerialDecimal(leaf->get()));
  }
  EXPECT_EQ(serials.size(), 50u);
  // The serial comes from the injected Random: the same seed gives the same serial.
  TestOnlyDeterministicRandom r1(7), r2(7);
  auto a = SignX509Svid(ca.signer(), p, r1);
  auto b = SignX509Svid(ca.signer(), p, r2);
  EXPECT_EQ(crypto::SerialDecimal(a->get()), crypto::SerialDecimal(b->get()));
  // No CN when there are no DNS names.
  EXPECT_EQ(X509_NAME_get_index_by_NID(X509_get_subject_name(a->get()), NID_commonName, -1), -1);
}

TEST(X509SvidBasicTest, NotAfterClampedToCa) {
  Ca ca = MakeRootCa(KeyType::kEcP256, "example.org", absl::Hours(2));
  auto leaf_key = crypto::GenerateKey(KeyType::kEcP256);
  X509SvidParams p{.id = *SpiffeId::Parse("spiffe://example.org/w"),
                   .public_key = leaf_key->get(),
                   .not_before = kNow,
                   .not_after = kNow + absl::Hours(100)};
  auto leaf = SignX509Svid(ca.signer(), p, SystemRandom::Get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(crypto::NotAfter(leaf->get()), crypto::NotAfter(ca.cert.get()));
  EXPECT_EQ(crypto::NotAfter(leaf->get()), kNow + absl::Hours(2));
  // Entirely after the CA expires: empty validity is an error.
  p.not_before = kNow + absl::Hours(3);
  auto late = SignX509Svid(ca.signer(), p, SystemRandom::Get());
  ASSERT_FALSE(late.ok());
  EXPECT_THAT(late.status().message(), HasSubstr("validity is empty"));
}

TEST(X509SvidBasicTest, MismatchedSignerKeyRejected) {
  Ca ca = MakeRootCa(KeyType::kEcP256);
  Ca other = MakeRootCa(KeyType::kEcP256);
  auto leaf_key = crypto::GenerateKey(KeyType::kEcP256);
  X509SvidParams p{.id = *SpiffeId::Parse("spiffe://example.org/w"),
                   .public_key = leaf_key->get(),
                   .not_before = kNow,
                   .not_after = kNow + absl::Hours(1)};
  auto leaf = SignX509Svid(CaSigner{ca.cert.get(), other.key.get()}, p, SystemRandom::Get());
  ASSERT_FALSE(leaf.ok());
  EXPECT_THAT(leaf.status().message(), HasSubstr("does not match"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(X509SvidBasicTest, NegativeLeafProfiles) {
  Ca ca = MakeRootCa(KeyType::kEcP256);
  auto k = crypto::GenerateKey(KeyType::kEcP256);
  struct Case {
    const char* name;
    std::vector<std::pair<int, std::string>> exts;
    const char* why;
  } cases[] = {
      {"two URI SANs", With(NID_subject_alt_name, "URI:spiffe://example.org/a,URI:spiffe://example.org/b"),
       "2 URI SANs"},
      {"no URI SAN", With(NID_subject_alt_name, "DNS:example.org"), "no URI SAN"},
      {"no SAN at all", Without(NID_subject_alt_name), "no URI SAN"},
      {"URI SAN not SPIFFE", With(NID_subject_alt_name, "URI:https://example.org/a"), "not a valid SPIFFE ID"},
      {"URI SAN bad path", With(NID_subject_alt_name, "URI:spiffe://example.org/a/"), "trailing slash"},
      {"cA=true", With(NID_basic_constraints, "critical,CA:TRUE"), "CA flag"},
      {"keyCertSign", With(NID_key_usage, "critical,digitalSignature,keyCertSign"), "keyCertSign"},
      {"cRLSign", With(NID_key_usage, "critical,digitalSignature,cRLSign"), "cRLSign"},
      {"missing KU", Without(NID_key_usage), "must have the keyUsage"},
      {"non-critical KU", With(NID_key_usage, "digitalSignature"), "must be critical"},
      {"no digitalSignature", With(NID_key_usage, "critical,keyEncipherment"), "digitalSignature"},
      {"EKU serverAuth only", With(NID_ext_key_usage, "serverAuth"), "serverAuth and clientAuth"},
      {"EKU codeSigning", With(NID_ext_key_usage, "codeSigning"), "serverAuth and clientAuth"},
  };
  for (const auto& c : cases) {
    ssl::X509Ptr cert = MakeCustomCert(ca, k->get(), c.exts);
    auto id = ValidateX509SvidLeafProfile(cert.get());
    ASSERT_FALSE(id.ok()) << c.name;
    EXPECT_THAT(id.status().message(), HasSubstr(c.why)) << c.name << ": " << id.status();
    // Chain verification applies the same profile.
    EXPECT_FALSE(VerifyX509Svid({cert.get()}, {ca.cert.get()}, kNow).ok()) << c.name;
  }
  // Control: the good extension set passes; EKU absent and BC absent are allowed by the spec.
  for (const auto& exts : {kGoodLeafExts, Without(NID_ext_key_usage), Without(NID_basic_constraints)}) {
    ssl::X509Ptr good = MakeCustomCert(ca, k->get(), exts);
    auto id = ValidateX509SvidLeafProfile(good.get());
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(VerifyX509Svid({good.get()}, {ca.cert.get()}, kNow).ok());
  }
}

TEST(X509SvidBasicTest, NegativeCaProfiles) {
  Ca ca = MakeRootCa(KeyType::kEcP256);
  auto k = crypto::GenerateKey(KeyType::kEcP256);
  auto td = *TrustDomain::Parse("example.org");
  struct Case {
    const char* name;
    std::vector<std::pair<int, std::string>> exts;
    const char* why;
  } cases[] = {
      {"cA=false", {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_key_usage, "critical,keyCertSign"}}, "cA=true"},
      {"no BC", {{NID_key_usage, "critical,keyCertSign"}}, "cA=true"},
      {"no keyCertSign",
       {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,cRLSign"}},
       "keyCertSign"},
      {"URI with path",
       {{NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign"},
        {NID_subject_alt_name, "URI:spiffe://example.org/ca"}},
       "no path"},
      {"other TD",
       {{NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign"},
        {NID_subject_alt_name, "URI:spiffe://other.org"}},
       "not the trust domain"},
  };
  for (const auto& c : cases) {
    ssl::X509Ptr cert = MakeCustomCert(ca, k->get(), c.exts);
    absl::Status st = ValidateSigningCaProfile(cert.get(), td);
    ASSERT_FALSE(st.ok()) << c.name;
    EXPECT_THAT(st.message(), HasSubstr(c.why)) << c.name << ": " << st;
  }
  // No URI SAN at all is fine for a signing CA.
  ssl::X509Ptr ok = MakeCustomCert(
      ca, k->get(), {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign"}});
  EXPECT_TRUE(ValidateSigningCaProfile(ok.get(), td).ok());
}

TEST(X509SvidBasicTest, VerifyChainWithIntermediate) {
  Ca root = MakeRootCa(KeyType::kEcP384);
  Ca inter;
  inter.key = *crypto::GenerateKey(KeyType::kEcP256);
  CaParams ip{.trust_domain = *TrustDomain::Parse("example.org"),
              .public_key = inter.key.get(),
              .not_before = kNow - absl::Minutes(1),
              .not_after = kNow + absl::Hours(100),
              .subject_cn = "intermediate"};
  auto ic = SignIntermediateCa(root.signer(), ip, SystemRandom::Get());
  ASSERT_TRUE(ic.ok()) << ic.status();
  inter.cert = *std::move(ic);
  EXPECT_EQ(crypto::NotAfter(inter.cert.get()), crypto::NotAfter(root.cert.get()));  // clamped
  EXPECT_EQ(NameText(X509_get_subject_name(inter.cert.get())), "CN=intermediate,O=SPIFFE,C=US");
  auto leaf_key = crypto::GenerateKey(KeyType::kRsa2048);
  X509SvidParams p{.id = *SpiffeId::Parse("spiffe://example.org/w"),
                   .public_key = leaf_key->get(),
                   .not_before = kNow,
                   .not_after = kNow + absl::Hours(1)};
  auto leaf = SignX509Svid(inter.signer(), p, SystemRandom::Get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();

  auto id = VerifyX509Svid({leaf->get(), inter.cert.get()}, {root.cert.get()}, kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  // Missing intermediate.
  EXPECT_FALSE(VerifyX509Svid({leaf->get()}, {root.cert.get()}, kNow).ok());
  // The intermediate itself as an anchor (partial chain, as Go pools do).
  EXPECT_TRUE(VerifyX509Svid({leaf->get()}, {inter.cert.get()}, kNow).ok());
  // Wrong root.
  Ca other = MakeRootCa(KeyType::kEcP256);
  auto wrong = VerifyX509Svid({leaf->get(), inter.cert.get()}, {other.cert.get()}, kNow);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("does not verify"));
  // Expired and not yet valid.
  auto expired = VerifyX509Svid({leaf->get(), inter.cert.get()}, {root.cert.get()}, kNow + absl::Hours(2));
  ASSERT_FALSE(expired.ok());
  EXPECT_THAT(expired.status().message(), HasSubstr("expired"));
  auto early = VerifyX509Svid({leaf->get(), inter.cert.get()}, {root.cert.get()}, kNow - absl::Hours(1));
  ASSERT_FALSE(early.ok());
  EXPECT_THAT(early.status().message(), HasSubstr("not yet valid"));
  // Leaf of a different trust domain than an intermediate's URI SAN.
  X509SvidParams q = p;
  q.id = *SpiffeId::Parse("spiffe://evil.org/w");
  auto evil = SignX509Svid(inter.signer(), q, SystemRandom::Get());
  ASSERT_TRUE(evil.ok());
  auto evil_v = VerifyX509Svid({evil->get(), inter.cert.get()}, {root.cert.get()}, kNow);
  ASSERT_FALSE(evil_v.ok());
  EXPECT_THAT(evil_v.status().message(), HasSubstr("not the trust domain"));
  EXPECT_FALSE(VerifyX509Svid({}, {root.cert.get()}, kNow).ok());
  EXPECT_FALSE(VerifyX509Svid({leaf->get()}, {}, kNow).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// VerifyX509SvidPath's window is the intersection of the verified path's validity (leaf and root here), and the
// chain verifies exactly inside it (notBefore inclusive, notAfter exclusive).
TEST(X509SvidBasicTest, VerifiedPathValidityIsWhereTheChainVerifies) {
  Ca ca = MakeRootCa(KeyType::kEcP256, "example.org", absl::Minutes(30));  // [kNow - 1 min, kNow + 30 min]
  auto leaf_key = crypto::GenerateKey(KeyType::kEcP256);
  X509SvidParams lp{.id = *SpiffeId::Parse("spiffe://example.org/w"),
                    .public_key = leaf_key->get(),
                    .not_before = kNow,
                    .not_after = kNow + absl::Hours(1)};
  auto leaf = SignX509Svid(ca.signer(), lp, SystemRandom::Get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto v = VerifyX509SvidPath({leaf->get()}, {ca.cert.get()}, kNow);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->id.ToString(), "spiffe://example.org/w");
  EXPECT_EQ(v->valid_from, absl::ToUnixSeconds(kNow)) << "the leaf's notBefore (the root's is earlier)";
  EXPECT_EQ(v->valid_until, absl::ToUnixSeconds(kNow + absl::Minutes(30))) << "the root's notAfter";
  EXPECT_FALSE(VerifyX509SvidPath({leaf->get()}, {ca.cert.get()}, kNow - absl::Seconds(1)).ok());
  EXPECT_TRUE(VerifyX509SvidPath({leaf->get()}, {ca.cert.get()}, kNow + absl::Minutes(30) - absl::Seconds(1)).ok());
  EXPECT_FALSE(VerifyX509SvidPath({leaf->get()}, {ca.cert.get()}, kNow + absl::Minutes(30)).ok());
}

// Independent check: the openssl CLI accepts our SVID against our bundle.
TEST(X509SvidBasicTest, OpensslCliVerifies) {
  if (std::system("openssl version > /dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not available";
  absl::Time now = absl::Now();
  Ca ca;
  ca.key = *crypto::GenerateKey(KeyType::kEcP256);
  CaParams p{.trust_domain = *TrustDomain::Parse("example.org"),
             .public_key = nullptr,
             .not_before = now - absl::Minutes(1),
             .not_after = now + absl::Hours(24)};
  ca.cert = *SelfSignCa(ca.key.get(), p, SystemRandom::Get());
  auto leaf_key = crypto::GenerateKey(KeyType::kEcP256);
  X509SvidParams lp{.id = *SpiffeId::Parse("spiffe://example.org/w"),
                    .public_key = leaf_key->get(),
                    .not_before = now - absl::Minutes(1),
                    .not_after = now + absl::Hours(1)};
  auto leaf = SignX509Svid(ca.signer(), lp, SystemRandom::Get());
  ASSERT_TRUE(leaf.ok());
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("svidtest_", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bundle.pem") << crypto::CertToPem(ca.cert.get());
  std::ofstream(dir / "svid.pem") << crypto::CertToPem(leaf->get());
  std::string base = absl::StrCat("openssl verify -CAfile ", (dir / "bundle.pem").string(), " ");
  EXPECT_EQ(std::system((base + (dir / "svid.pem").string() + " > /dev/null").c_str()), 0);
  EXPECT_EQ(std::system((base + "-purpose sslclient " + (dir / "svid.pem").string() + " > /dev/null").c_str()), 0);
  EXPECT_EQ(std::system((base + "-purpose sslserver " + (dir / "svid.pem").string() + " > /dev/null").c_str()), 0);
  EXPECT_EQ(std::system((base + "-x509_strict " + (dir / "svid.pem").string() + " > /dev/null").c_str()), 0);
  // And rejects it against another CA.
  Ca other = MakeRootCa(KeyType::kEcP256);
  std::ofstream(dir / "other.pem") << crypto::CertToPem(other.cert.get());
  EXPECT_NE(std::system(absl::StrCat("openssl verify -CAfile ", (dir / "other.pem").string(), " ",
                                     (dir / "svid.pem").string(), " > /dev/null 2>&1")
                            .c_str()),
            0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::spiffe

namespace spirecvm::spiffe {
namespace {

TEST(X509SvidSpkiDer, ALeafFromSpkiDerCarriesThatKeyAndVerifies) {
  TestOnlyDeterministicRandom rnd(9);
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  for (crypto::KeyType t : {crypto::KeyType::kEcP256, crypto::KeyType::kEcP384, crypto::KeyType::kRsa2048}) {
    auto ca_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    CaParams cp;
    cp.trust_domain = *TrustDomain::Parse("example.org");
    cp.not_before = now - absl::Hours(1);
    cp.not_after = now + absl::Hours(24);
    auto ca = SelfSignCa(ca_key->get(), cp, rnd);
    ASSERT_TRUE(ca.ok());
    auto leaf_key = crypto::GenerateKey(t);
    X509SvidParams p;
    p.id = *SpiffeId::Parse("spiffe://example.org/w");
    const std::string spki = *crypto::PublicKeyToDer(leaf_key->get());
    p.spki_der = spki;
    p.not_before = now - absl::Minutes(1);
    p.not_after = now + absl::Minutes(30);
    auto leaf = SignX509Svid({ca->get(), ca_key->get()}, p, rnd);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    auto parsed = crypto::ParseCertDer(crypto::CertToDer(leaf->get()));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*crypto::CertSpkiDer(parsed->get()), *crypto::PublicKeyToDer(leaf_key->get())) << crypto::KeyTypeName(t);
    auto id = VerifyX509Svid({parsed->get()}, {ca->get()}, now);
    ASSERT_TRUE(id.ok()) << crypto::KeyTypeName(t) << ": " << id.status();
    EXPECT_TRUE(ValidateX509SvidLeafProfile(parsed->get()).ok());
  }
}

}  // namespace
}  // namespace spirecvm::spiffe
