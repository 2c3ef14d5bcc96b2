// spire-server x509 mint / jwt mint against in-process fakes of SPIRE's svid and bundle APIs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/random.h"
#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeSpireServer;
using ::testing::HasSubstr;
using testing::RunOn;

std::string CaDer() {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = *spiffe::TrustDomain::Parse("td"),
                     .not_before = absl::FromUnixSeconds(1700000000),
                     .not_after = absl::FromUnixSeconds(4102444800)};
  return crypto::CertToDer(spiffe::SelfSignCa(key->get(), p, SystemRandom::Get())->get());
}

// The DNS SANs of a DER CSR.
std::vector<std::string> CsrDnsNames(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())),
                                                          X509_REQ_free);
  std::vector<std::string> out;
  if (!req) return out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get());
  auto* names = static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != GEN_DNS) continue;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                     static_cast<size_t>(ASN1_STRING_length(gn->d.dNSName)));
  }
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

class MintCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = CaDer();
    srv_.svid.x509_chain = {ca_};
    srv_.bundle.bundle.set_trust_domain("td");
    srv_.bundle.bundle.add_x509_authorities()->set_asn1(ca_);
  }
  FakeSpireServer srv_;
  std::string ca_;
};

TEST_F(MintCliTest, X509SendsACsrForTheIdAndDnsNamesWithAGoDurationTtl) {
  auto r =
      RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w", "-ttl", "90m", "-dns", "a.example", "-dns", "b.example"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(srv_.svid.x509_mints.size(), 1u);
  EXPECT_EQ(srv_.svid.x509_mints[0].ttl(), 5400);
  auto csr = crypto::ParseAndVerifyCsr(srv_.svid.x509_mints[0].csr());
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_THAT(csr->uri_sans, ElementsAre("spiffe://td/w"));
  EXPECT_THAT(CsrDnsNames(srv_.svid.x509_mints[0].csr()), ElementsAre("a.example", "b.example"));
  const std::string pem = crypto::CertToPem(crypto::ParseCertDer(ca_)->get());
  EXPECT_THAT(r.out, ::testing::StartsWith("X509-SVID:\n" + pem + "\nPrivate key:\n-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_THAT(r.out, ::testing::EndsWith("\nRoot CAs:\n" + pem + "\n"));
  EXPECT_EQ(r.err, "");

  RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w", "-ttl", "1500ms"});
  EXPECT_EQ(srv_.svid.x509_mints[1].ttl(), 2) << "rounded up to whole seconds, as SPIRE";

  r = RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w", "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["x509_svid"][0], Base64Encode(ca_));
  EXPECT_EQ(j["root_cas"][0], Base64Encode(ca_));
  auto key = crypto::PrivateKeyFromDer(*Base64Decode(j["private_key"].get<std::string>()));
  EXPECT_TRUE(key.ok()) << key.status();
  EXPECT_THAT(r.out, ::testing::StartsWith("{\"x509_svid\":["));

  const std::string dir = srv_.dir() + "/out";
  r = RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w", "-write", dir});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "X509-SVID written to " + dir + "/svid.pem\nPrivate key written to " + dir +
                       "/key.pem\nRoot CAs written to " + dir + "/bundle.pem\n");
  EXPECT_EQ(*files::ReadFile(dir + "/svid.pem"), pem);
  EXPECT_TRUE(crypto::PrivateKeyFromPem(*files::ReadFile(dir + "/key.pem")).ok());
}

TEST_F(MintCliTest, X509WarnsWhenTheServerCappedTheLifetime) {
  srv_.svid.expires_at = 1;  // long past: shorter than any positive -ttl
  auto r = RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w", "-ttl", "1h"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "X509-SVID lifetime was capped shorter than specified ttl; expires \"1970-01-01T00:00:01Z\"\n");
}

TEST_F(MintCliTest, X509RejectsMissingInputAndReportsServerErrors) {
  auto r = RunOn(srv_, X509Mint, {});
  EXPECT_EQ(r.err, "Error: spiffeID must be specified\n");
  r = RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w", "-ttl", "300"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("invalid value \"300\" for flag -ttl"));
  srv_.svid.x509_chain.clear();
  EXPECT_EQ(RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w"}).err, "Error: server response missing SVID chain\n");
  srv_.svid.fail_with = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad csr");
  r = RunOn(srv_, X509Mint, {"-spiffeID", "spiffe://td/w"});
  EXPECT_EQ(r.err, "Error: unable to mint SVID: rpc error: code = InvalidArgument desc = bad csr\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(MintCliTest, JwtSendsAudiencesAndPrintsWritesOrJson) {
  auto r = RunOn(srv_, JwtMint, {"-spiffeID", "spiffe://td/w", "-audience", "a1", "-audience", "a2", "-ttl", "2m"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "header.payload.signature\n");
  EXPECT_THAT(r.err, ::testing::StartsWith("Unable to determine JWT-SVID lifetime: "));
  ASSERT_EQ(srv_.svid.jwt_mints.size(), 1u);
  EXPECT_THAT(srv_.svid.jwt_mints[0].audience(), ElementsAre("a1", "a2"));
  EXPECT_EQ(srv_.svid.jwt_mints[0].ttl(), 120);
  EXPECT_EQ(IdString(srv_.svid.jwt_mints[0].id()), "spiffe://td/w");

  // A token with an expiry claim far ahead: no warning.
  srv_.svid.jwt_token = "e30." + Base64UrlEncode(R"({"exp":4102444800})") + ".c2ln";
  r = RunOn(srv_, JwtMint, {"-spiffeID", "spiffe://td/w", "-audience", "a", "-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "{\"svid\":{\"expires_at\":\"4102444800\",\"hint\":\"\",\"id\":{\"path\":\"/w\",\"trust_domain\":"
            "\"td\"},\"issued_at\":\"0\",\"token\":\"" +
                srv_.svid.jwt_token + "\"}}\n");

  const std::string file = srv_.dir() + "/token";
  r = RunOn(srv_, JwtMint, {"-spiffeID", "spiffe://td/w", "-audience", "a", "-write", file});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "JWT-SVID written to " + file + "\n");
  EXPECT_EQ(*files::ReadFile(file), srv_.svid.jwt_token);
}

TEST_F(MintCliTest, JwtRejectsMissingInput) {
  EXPECT_EQ(RunOn(srv_, JwtMint, {"-audience", "a"}).err, "Error: spiffeID must be specified\n");
  EXPECT_EQ(RunOn(srv_, JwtMint, {"-spiffeID", "spiffe://td/w"}).err,
            "Error: at least one audience must be specified\n");
  EXPECT_TRUE(srv_.svid.jwt_mints.empty());
}

}  // namespace
}  // namespace spirecvm::cli
