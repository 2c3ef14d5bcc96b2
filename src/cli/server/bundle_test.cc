// spire-server bundle show|list|count|set|delete against in-process fakes of SPIRE's bundle API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::cli {
namespace {

using testing::FakeSpireServer;
using ::testing::HasSubstr;
using testing::RunOn;
namespace bundlev1 = testing::bundlev1;

// A self-signed CA certificate (DER) for trust domain `td`.
std::string CaDer(const std::string& td) {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  spiffe::CaParams p{.trust_domain = *spiffe::TrustDomain::Parse(td),
                     .not_before = absl::FromUnixSeconds(1700000000),
                     .not_after = absl::FromUnixSeconds(1800000000)};
  auto cert = spiffe::SelfSignCa(key->get(), p, SystemRandom::Get());
  return crypto::CertToDer(cert->get());
}

std::string Pem(const std::string& der) { return crypto::CertToPem(crypto::ParseCertDer(der)->get()); }

class BundleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    der_ = CaDer("td");
    auto& b = srv_.bundle.bundle;
    b.set_trust_domain("td");
    b.add_x509_authorities()->set_asn1(der_);
    auto jwt_key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    jwt_der_ = *crypto::PublicKeyToDer(jwt_key->get());
    auto* k = b.add_jwt_authorities();
    k->set_key_id("kid1");
    k->set_public_key(jwt_der_);
    k->set_expires_at(1800000000);
    b.set_sequence_number(3);
  }
  testing::CliResult Run(const CommandFn& fn, std::vector<std::string> args) { return RunOn(srv_, fn, args); }
  FakeSpireServer srv_;
  std::string der_, jwt_der_;
};

TEST_F(BundleCliTest, ShowPrintsPemSpiffeOrSpiresJson) {
  auto r = Run(BundleShow, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, Pem(der_));

  r = Run(BundleShow, {"-format", "spiffe"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["keys"].size(), 2u);
  EXPECT_EQ(doc["keys"][0]["use"], "x509-svid");
  EXPECT_EQ(doc["keys"][0]["x5c"][0], Base64Encode(der_));
  EXPECT_EQ(doc["keys"][1]["use"], "jwt-svid");
  EXPECT_EQ(doc["keys"][1]["kid"], "kid1");
  EXPECT_EQ(doc["spiffe_sequence"], 3);
  EXPECT_THAT(r.out, ::testing::StartsWith("{\n    \"keys\": [\n        {\n            \"use\": \"x509-svid\",\n"));

  r = Run(BundleShow, {"-output", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"jwt_authorities\":[{\"expires_at\":\"1800000000\",\"key_id\":\"kid1\",\"public_key\":\"" +
                Base64Encode(jwt_der_) +
                "\",\"tainted\":false}],\"refresh_hint\":\"0\",\"sequence_number\":\"3\",\"trust_domain\":\"td\","
                "\"x509_authorities\":[{\"asn1\":\"" +
                Base64Encode(der_) + "\",\"tainted\":false}]}\n");

  r = Run(BundleShow, {"-format", "jwks"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: invalid format: \"jwks\"\n");
}

TEST_F(BundleCliTest, ListAndCountFederatedBundles) {
  for (const char* td : {"one.test", "two.test"}) {
    stypes::Bundle b;
    b.set_trust_domain(td);
    b.add_x509_authorities()->set_asn1(CaDer(td));
    srv_.bundle.federated.push_back(b);
  }
  auto r = Run(BundleList, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string header1 =
      "****************************************\n* one.test\n****************************************\n";
  const std::string header2 =
      "****************************************\n* two.test\n****************************************\n";
  EXPECT_EQ(r.out, header1 + Pem(srv_.bundle.federated[0].x509_authorities(0).asn1()) + "\n" + header2 +
                       Pem(srv_.bundle.federated[1].x509_authorities(0).asn1()));
  r = Run(BundleList, {"-id", "two.test"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, Pem(srv_.bundle.federated[1].x509_authorities(0).asn1()));
  r = Run(BundleList, {"-id", "three.test"});
  EXPECT_EQ(r.err, "Error: rpc error: code = NotFound desc = bundle not found\n");
  r = Run(BundleList, {"-output", "json"});
  EXPECT_THAT(r.out, ::testing::StartsWith("{\"bundles\":[{\"jwt_authorities\":[],\"refresh_hint\":\"0\""));
  EXPECT_EQ(Run(BundleCount, {}).out, "3 bundles\n");
  EXPECT_EQ(Run(BundleCount, {"-output", "json"}).out, "{\"count\":3}\n");
}

TEST_F(BundleCliTest, SetSendsPemOrSpiffeDataAndDeleteSendsTheMode) {
  const std::string pem_file = srv_.dir() + "/b.pem";
  const std::string other = CaDer("other.test");
  ASSERT_TRUE(files::WriteFileAtomic(pem_file, Pem(other), 0600).ok());
  auto r = Run(BundleSet, {"-id", "spiffe://other.test", "-path", pem_file});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "bundle set.\n");
  ASSERT_EQ(srv_.bundle.sets.size(), 1u);
  EXPECT_EQ(srv_.bundle.sets[0].bundle(0).trust_domain(), "spiffe://other.test");
  EXPECT_EQ(srv_.bundle.sets[0].bundle(0).x509_authorities(0).asn1(), other);

  // The SPIFFE format: what `bundle show -format spiffe` printed is accepted back.
  const std::string doc_file = srv_.dir() + "/b.json";
  ASSERT_TRUE(files::WriteFileAtomic(doc_file, Run(BundleShow, {"-format", "spiffe"}).out, 0600).ok());
  r = Run(BundleSet, {"-id", "spiffe://td2.test", "-path", doc_file, "-format", "spiffe"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto& sent = srv_.bundle.sets[1].bundle(0);
  EXPECT_EQ(sent.trust_domain(), "td2.test");
  EXPECT_EQ(sent.x509_authorities(0).asn1(), der_);
  EXPECT_EQ(sent.jwt_authorities(0).key_id(), "kid1");
  EXPECT_EQ(sent.sequence_number(), 3u);

  r = Run(BundleSet, {"-id", "refused.test", "-path", pem_file});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error: failed to set federated bundle: trust domain refused\n");
  EXPECT_EQ(Run(BundleSet, {"-path", pem_file}).err, "Error: id flag is required\n");
  r = Run(BundleSet, {"-id", "x.test", "-path", doc_file});
  EXPECT_THAT(r.err, HasSubstr("Error: unable to parse bundle data: "));

  r = Run(BundleDelete, {"-id", "other.test", "-mode", "dissociate"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "bundle deleted.\n");
  EXPECT_EQ(srv_.bundle.deletes[0].mode(), bundlev1::BatchDeleteFederatedBundleRequest::DISSOCIATE);
  r = Run(BundleDelete, {"-id", "refused.test"});
  EXPECT_EQ(r.err, "Error: failed to delete federated bundle \"refused.test\": no such bundle\n");
  EXPECT_EQ(srv_.bundle.deletes[1].mode(), bundlev1::BatchDeleteFederatedBundleRequest::RESTRICT);
  EXPECT_EQ(Run(BundleDelete, {"-id", "x", "-mode", "purge"}).err, "Error: unsupported mode \"purge\"\n");
  EXPECT_EQ(Run(BundleDelete, {}).err, "Error: id is required\n");
}

}  // namespace
}  // namespace spirecvm::cli
