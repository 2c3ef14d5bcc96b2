// MintX509Svid against certificates the OpenSSL-object builder wrote before the DER writer replaced it (main at
// db53350, `testdata/x509_svid_golden.json`): the same inputs (CA, key, serial draw, times, names, extension) must give
// the same TBSCertificate byte for byte. Signatures differ (ECDSA draws a fresh k), so the TBS is compared and the
// signature is verified instead.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/encoding.h"
#include "crypto/der.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::spiffe {
namespace {

using ::testing::HasSubstr;

nlohmann::json Golden() {
  std::ifstream in(std::string(SPIRECVM_SOURCE_DIR) + "/src/spiffe/testdata/x509_svid_golden.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// The TBSCertificate element (tag and length included) of a certificate's DER.
std::string Tbs(const std::string& cert) {
  der::Reader outer(cert);
  auto content = outer.Next(der::kSequence, "certificate");
  EXPECT_TRUE(content.ok()) << content.status();
  if (!content.ok()) return {};
  der::Reader fields(*content);
  auto tbs = fields.Next(der::kSequence, "tbs");  // the contents; the element starts where `content` does
  EXPECT_TRUE(tbs.ok()) << tbs.status();
  if (!tbs.ok()) return {};
  return std::string(content->substr(0, static_cast<size_t>(tbs->data() + tbs->size() - content->data())));
}

struct Inputs {
  ssl::X509Ptr ca;
  ssl::EvpPkeyPtr ca_key;
  std::string spki;
  X509SvidParams p;
};

Inputs FromCase(const nlohmann::json& c) {
  Inputs in;
  in.ca = std::move((*crypto::ParseCertsPem(c["ca_cert_pem"].get<std::string>()))[0]);
  in.ca_key = *crypto::PrivateKeyFromPem(c["ca_key_pem"].get<std::string>());
  in.spki = *HexDecode(c["leaf_spki_hex"].get<std::string>());
  in.p.id = *SpiffeId::Parse(c["id"].get<std::string>());
  in.p.not_before = absl::FromUnixSeconds(c["not_before_unix"].get<int64_t>());
  in.p.not_after = absl::FromUnixSeconds(c["not_after_unix"].get<int64_t>());
  in.p.dns_names = c["dns_names"].get<std::vector<std::string>>();
  if (c.contains("extra_extension")) {
    in.p.extra_extensions.push_back({OBJ_sn2nid(c["extra_extension"]["nid_sn"].get<std::string>().c_str()),
                                     *HexDecode(c["extra_extension"]["value_hex"].get<std::string>())});
  }
  return in;
}

TEST(X509SvidWriter, WritesTheSameTbsAsTheOpenSslObjectBuilder) {
  const nlohmann::json cases = Golden();
  ASSERT_EQ(cases.size(), 5u);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    Inputs in = FromCase(c);
    in.p.spki_der = in.spki;
    TestOnlyDeterministicRandom rnd(c["serial_seed"].get<uint64_t>());
    auto minted = MintX509Svid({in.ca.get(), in.ca_key.get()}, in.p, rnd);
    ASSERT_TRUE(minted.ok()) << name << ": " << minted.status();
    const std::string reference = *HexDecode(c["reference_cert_hex"].get<std::string>());
    EXPECT_EQ(HexEncode(Tbs(minted->der)), HexEncode(Tbs(reference))) << name;
    // The rest: the serial and notAfter the server reports, the signature, and the profile.
    auto ref = crypto::ParseCertDer(reference);
    auto cert = crypto::ParseCertDer(minted->der);
    ASSERT_TRUE(ref.ok() && cert.ok()) << name;
    EXPECT_EQ(minted->serial_decimal, crypto::SerialDecimal(ref->get())) << name;
    EXPECT_EQ(minted->not_after, crypto::NotAfter(ref->get())) << name;
    EXPECT_EQ(crypto::CertToDer(cert->get()), minted->der) << name << ": not in its one DER encoding";
    EXPECT_EQ(X509_verify(cert->get(), X509_get0_pubkey(in.ca.get())), 1) << name;
    auto id = VerifyX509Svid({cert->get()}, {in.ca.get()}, in.p.not_before + absl::Seconds(1));
    ASSERT_TRUE(id.ok()) << name << ": " << id.status();
    EXPECT_EQ(id->ToString(), c["id"].get<std::string>());
  }
}

TEST(X509SvidWriter, AnEvpKeyAndItsSpkiGiveTheSameCertificate) {
  const nlohmann::json cases = Golden();
  Inputs in = FromCase(cases[0]);
  auto key = crypto::PublicKeyFromDer(in.spki);
  ASSERT_TRUE(key.ok());
  in.p.public_key = key->get();
  TestOnlyDeterministicRandom rnd(cases[0]["serial_seed"].get<uint64_t>());
  auto minted = MintX509Svid({in.ca.get(), in.ca_key.get()}, in.p, rnd);
  ASSERT_TRUE(minted.ok()) << minted.status();
  EXPECT_EQ(Tbs(minted->der), Tbs(*HexDecode(cases[0]["reference_cert_hex"].get<std::string>())));
}

TEST(X509SvidWriter, RefusesWhatTheOldBuilderRefused) {
  const nlohmann::json cases = Golden();
  Inputs in = FromCase(cases[0]);
  in.p.spki_der = in.spki;
  TestOnlyDeterministicRandom rnd(1);
  auto mint = [&](X509SvidParams p) { return MintX509Svid({in.ca.get(), in.ca_key.get()}, p, rnd).status(); };

  X509SvidParams p = in.p;
  p.dns_names = {std::string(65, 'a')};
  EXPECT_THAT(mint(p).message(), HasSubstr("cannot be the subject common name"));
  p.dns_names = {std::string("caf\xc3", 4)};  // truncated UTF-8
  EXPECT_THAT(mint(p).message(), HasSubstr("cannot be the subject common name"));
  p = in.p;
  p.extra_extensions = {{NID_subject_alt_name, std::string("\x30\x00", 2)}};
  EXPECT_THAT(mint(p).message(), HasSubstr("extension subjectAltName is already set"));
  p.extra_extensions = {{NID_certificate_policies, std::string("\x30\x00", 2)},
                        {NID_certificate_policies, std::string("\x30\x00", 2)}};
  EXPECT_THAT(mint(p).message(), HasSubstr("extension certificatePolicies is already set"));
  p = in.p;
  p.not_after = p.not_before;
  EXPECT_THAT(mint(p).message(), HasSubstr("certificate validity is empty"));
  p = in.p;
  p.not_before = crypto::NotAfter(in.ca.get()) + absl::Hours(1);
  p.not_after = p.not_before + absl::Hours(1);
  EXPECT_THAT(mint(p).message(), HasSubstr("after clamping to the CA's notAfter"));
  p = in.p;
  const std::string truncated = in.spki.substr(0, in.spki.size() - 1), trailing = in.spki + std::string(1, '\0');
  p.spki_der = truncated;
  EXPECT_THAT(mint(p).message(), HasSubstr("SubjectPublicKeyInfo"));
  p.spki_der = trailing;
  EXPECT_THAT(mint(p).message(), HasSubstr("SubjectPublicKeyInfo"));
  p = in.p;
  p.spki_der = {};
  EXPECT_THAT(mint(p).message(), HasSubstr("public key is missing"));
  p = in.p;
  auto other = crypto::GenerateKey(crypto::KeyType::kEcP256);
  EXPECT_THAT(MintX509Svid({in.ca.get(), other->get()}, in.p, rnd).status().message(),
              HasSubstr("the signing key does not match the CA certificate"));
}

}  // namespace
}  // namespace spirecvm::spiffe
