// The SDS answer builder: resource names, defaults, SPIFFE validator vs trusted CA, node metadata overrides,
// federated bundles and unknown names, following SPIRE's sdsv3 handler cases.
#include "agent/sds/secrets.h"

#include <gtest/gtest.h>

#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config.pb.h"

namespace spirecvm::agent::sds {
namespace {

namespace tls = envoy::extensions::transport_sockets::tls::v3;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

// Certificates are opaque here: the builder PEM-wraps DER bytes without parsing them.
const char kBundlePem[] = "-----BEGIN CERTIFICATE-----\nQlVORExF\n-----END CERTIFICATE-----\n";     // "BUNDLE"
const char kFedPem[] = "-----BEGIN CERTIFICATE-----\nRkVEQlVORExF\n-----END CERTIFICATE-----\n";    // "FEDBUNDLE"
const char kLeaf1Pem[] = "-----BEGIN CERTIFICATE-----\nV09SS0xPQUQx\n-----END CERTIFICATE-----\n";  // "WORKLOAD1"

spiffe::Bundle MakeBundle(const char* td, const char* der) {
  spiffe::Bundle b;
  b.trust_domain = *spiffe::TrustDomain::Parse(td);
  b.x509_authorities_der.push_back(der);
  return b;
}

std::shared_ptr<const X509SvidRecord> Svid(const std::string& id, const std::string& der) {
  auto r = std::make_shared<X509SvidRecord>();
  r->spiffe_id = id;
  r->chain_der = {der};
  r->key_pkcs8_der = "KEY";
  return r;
}

SdsState State(bool federated = true) {
  SdsState s;
  s.svids = {Svid("spiffe://domain.test/workload", "WORKLOAD1"), Svid("spiffe://domain.test/other", "WORKLOAD2")};
  s.bundle = std::make_shared<spiffe::Bundle>(MakeBundle("domain.test", "BUNDLE"));
  if (federated) s.federated["spiffe://otherdomain.test"] = MakeBundle("otherdomain.test", "FEDBUNDLE");
  return s;
}

DiscoveryRequest Req(std::vector<std::string> names, int major = 1, int minor = 18) {
  DiscoveryRequest r;
  for (auto& n : names) r.add_resource_names(n);
  if (major >= 0) {
    auto* v = r.mutable_node()->mutable_user_agent_build_version()->mutable_version();
    v->set_major_number(major);
    v->set_minor_number(minor);
  }
  return r;
}

std::vector<tls::Secret> Secrets(const DiscoveryResponse& resp) {
  std::vector<tls::Secret> out;
  for (const auto& any : resp.resources()) {
    EXPECT_EQ(any.type_url(), kSecretTypeUrl);
    tls::Secret s;
    EXPECT_TRUE(any.UnpackTo(&s));
    out.push_back(s);
  }
  return out;
}

tls::SPIFFECertValidatorConfig Validator(const tls::Secret& s) {
  EXPECT_TRUE(s.has_validation_context());
  const auto& ext = s.validation_context().custom_validator_config();
  EXPECT_EQ(ext.name(), kSpiffeValidatorName);
  tls::SPIFFECertValidatorConfig cfg;
  EXPECT_TRUE(ext.typed_config().UnpackTo(&cfg));
  return cfg;
}

TEST(SdsSecretsTest, PemBlockWrapsAt64Columns) {
  EXPECT_EQ(PemBlock("CERTIFICATE", "BUNDLE"), kBundlePem);
  std::string pem = PemBlock("PRIVATE KEY", std::string(60, 'x'));  // 80 Base64 characters: two lines
  EXPECT_EQ(pem.substr(0, 28), "-----BEGIN PRIVATE KEY-----\n");
  EXPECT_EQ(pem.find('\n', 28), 28u + 64u);
}

TEST(SdsSecretsTest, EmptyNamesReturnEveryBundleAndCertificate) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({}), State(), "3", "abcd");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->version_info(), "3");
  EXPECT_EQ(resp->nonce(), "abcd");
  auto s = Secrets(*resp);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].name(), "spiffe://domain.test");
  EXPECT_EQ(Validator(s[0]).trust_domains(0).name(), "domain.test");
  EXPECT_EQ(Validator(s[0]).trust_domains(0).trust_bundle().inline_bytes(), kBundlePem);
  EXPECT_EQ(s[1].name(), "spiffe://otherdomain.test");
  EXPECT_EQ(Validator(s[1]).trust_domains(0).trust_bundle().inline_bytes(), kFedPem);
  EXPECT_EQ(s[2].name(), "spiffe://domain.test/workload");
  EXPECT_EQ(s[2].tls_certificate().certificate_chain().inline_bytes(), kLeaf1Pem);
  EXPECT_EQ(s[2].tls_certificate().private_key().inline_bytes(), PemBlock("PRIVATE KEY", "KEY"));
  EXPECT_EQ(s[3].name(), "spiffe://domain.test/other");
}

TEST(SdsSecretsTest, FetchHasNoVersionOrNonce) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"default"}), State(), "", "ignored");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->version_info(), "");
  EXPECT_EQ(resp->nonce(), "");
}

TEST(SdsSecretsTest, OldEnvoyGetsTrustedCa) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"spiffe://domain.test"}, 1, 17), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  auto s = Secrets(*resp);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].validation_context().trusted_ca().inline_bytes(), kBundlePem);
  EXPECT_FALSE(s[0].validation_context().has_custom_validator_config());
}

TEST(SdsSecretsTest, NoBuildVersionGetsSpiffeValidator) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"spiffe://domain.test"}, -1), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Validator(Secrets(*resp)[0]).trust_domains_size(), 1);
}

TEST(SdsSecretsTest, DefaultNamesAnswerFirstSvidAndOwnBundle) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"default", "ROOTCA"}), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  auto s = Secrets(*resp);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name(), "ROOTCA");
  EXPECT_EQ(Validator(s[0]).trust_domains(0).name(), "domain.test");
  EXPECT_EQ(s[1].name(), "default");
  EXPECT_EQ(s[1].tls_certificate().certificate_chain().inline_bytes(), kLeaf1Pem);
}

TEST(SdsSecretsTest, AllIsOneValidatorWithEveryTrustDomainSorted) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"ALL"}), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  auto s = Secrets(*resp);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name(), "ALL");
  auto cfg = Validator(s[0]);
  ASSERT_EQ(cfg.trust_domains_size(), 2);
  EXPECT_EQ(cfg.trust_domains(0).name(), "domain.test");
  EXPECT_EQ(cfg.trust_domains(1).name(), "otherdomain.test");
  EXPECT_EQ(cfg.trust_domains(1).trust_bundle().inline_bytes(), kFedPem);
}

TEST(SdsSecretsTest, AllOnOldEnvoyIsInternal) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"ALL"}, 1, 17), State(), "1", "n");
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(resp.status().message(), "unable to use \"SPIFFE validator\" on Envoy below 1.17");
}

TEST(SdsSecretsTest, ConfiguredNamesReplaceDefaults) {
  SdsOptions o;
  o.default_svid_name = "mine";
  o.default_bundle_name = "roots";
  o.default_all_bundles_name = "everything";
  auto resp = BuildSecretsResponse(o, Req({"mine", "roots"}), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Secrets(*resp)[0].name(), "roots");
  EXPECT_EQ(Secrets(*resp)[1].name(), "mine");
  EXPECT_EQ(BuildSecretsResponse(o, Req({"default"}), State(), "1", "n").status().code(),
            absl::StatusCode::kInvalidArgument);
  resp = BuildSecretsResponse(o, Req({"everything"}), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Validator(Secrets(*resp)[0]).trust_domains_size(), 2);
}

TEST(SdsSecretsTest, FederatedBundleByTrustDomainId) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"spiffe://otherdomain.test"}, 1, 17), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  auto s = Secrets(*resp);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].validation_context().trusted_ca().inline_bytes(), kFedPem);
}

TEST(SdsSecretsTest, UnknownNamesAreRefusedSorted) {
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"spiffe://domain.test/z", "spiffe://domain.test/a", "default"}),
                                   State(false), "1", "n");
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(resp.status().message(),
            "workload is not authorized for the requested identities [\"spiffe://domain.test/a\" "
            "\"spiffe://domain.test/z\"]");
  // Without federation, another trust domain's bundle is just as unknown.
  EXPECT_EQ(
      BuildSecretsResponse(SdsOptions{}, Req({"spiffe://otherdomain.test"}), State(false), "1", "n").status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(SdsSecretsTest, WorkloadWithoutSvidsStillGetsBundles) {
  SdsState st = State(false);
  st.svids.clear();
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"ROOTCA"}), st, "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Secrets(*resp).size(), 1u);
  EXPECT_EQ(BuildSecretsResponse(SdsOptions{}, Req({"default"}), st, "1", "n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SdsSecretsTest, OwnIdAndDefaultBundleNameTogetherLeaveOneUnanswered) {
  // As SPIRE: the own bundle is served under one name per request.
  auto resp = BuildSecretsResponse(SdsOptions{}, Req({"spiffe://domain.test", "ROOTCA"}), State(), "1", "n");
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(resp.status().message().find("\"ROOTCA\""), std::string::npos);
}

TEST(SdsSecretsTest, DisabledValidationServesTrustedCaAndNodeMetadataOverrides) {
  SdsOptions off;
  off.disable_spiffe_cert_validation = true;
  envoy::config::core::v3::Node node = Req({}).node();
  EXPECT_FALSE(UseSpiffeValidator(off, node));
  EXPECT_TRUE(UseSpiffeValidator(SdsOptions{}, node));

  auto& fields = *node.mutable_metadata()->mutable_fields();
  fields[kDisableValidationKey].set_bool_value(true);
  EXPECT_FALSE(UseSpiffeValidator(SdsOptions{}, node));
  fields[kDisableValidationKey].set_bool_value(false);
  EXPECT_TRUE(UseSpiffeValidator(off, node));
  fields[kDisableValidationKey].set_string_value("true");
  EXPECT_FALSE(UseSpiffeValidator(SdsOptions{}, node));
  fields[kDisableValidationKey].set_string_value("F");
  EXPECT_TRUE(UseSpiffeValidator(off, node));
  // Not a boolean: the configured option stands.
  fields[kDisableValidationKey].set_string_value("test");
  EXPECT_TRUE(UseSpiffeValidator(SdsOptions{}, node));
  EXPECT_FALSE(UseSpiffeValidator(off, node));
  fields[kDisableValidationKey].set_number_value(5);
  EXPECT_FALSE(UseSpiffeValidator(off, node));

  // ALL with validation disabled: SPIRE answers it only when it is also the default bundle name (plain CA).
  off.default_bundle_name = "ALL";
  auto resp = BuildSecretsResponse(off, Req({"ALL"}), State(), "1", "n");
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Secrets(*resp)[0].validation_context().trusted_ca().inline_bytes(), kBundlePem);
}

}  // namespace
}  // namespace spirecvm::agent::sds
