// TEST ONLY. A stand-in for AWS's instance-identity signing key, for unit tests, the IMDS
// emulator (tools/imds_emulator) and the demo. Nothing here is used by the server or agent: a
// server trusts this key only if an operator puts its certificate in aws_certificates_path.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::awsiid::testing {

// An RSA-2048 key and a self-signed certificate for it, subject "CN=TEST ONLY AWS IID signer".
struct TestAwsSigner {
  ssl::EvpPkeyPtr key;
  ssl::X509Ptr cert;

  static absl::StatusOr<TestAwsSigner> Generate();
  // Loads <state_dir>/test-aws-iid-key.pem and test-aws-iid-cert.pem, or generates and writes
  // them (key 0600) when absent, so a restarted emulator keeps signing with the same key.
  static absl::StatusOr<TestAwsSigner> LoadOrCreate(const std::string& state_dir);

  std::string CertPem() const;
  // Writes the certificate as <certs_dir>/rsa2048/<region>.pem and <certs_dir>/rsa/<region>.pem,
  // the layout aws_certificates_path expects.
  absl::Status WriteCertsDir(const std::string& certs_dir, absl::string_view region) const;
};

enum class CmsForm {
  // The newer AWS form: signed attributes (contentType, signingTime, messageDigest, and, when
  // OpenSSL adds it, CMSAlgorithmProtection), signatureAlgorithm sha256WithRSAEncryption.
  kWithSignedAttributes,
  // The older AWS form: no signed attributes, signatureAlgorithm rsaEncryption, the signature
  // is directly over the content.
  kWithoutSignedAttributes,
};

// A CMS SignedData (content attached, no certificates) over `content`, DER, base64 with
// 64-character lines as IMDS serves `rsa2048`.
absl::StatusOr<std::string> SignRsa2048(const TestAwsSigner& signer, absl::string_view content,
                                        CmsForm form = CmsForm::kWithSignedAttributes);
// RSA PKCS#1 v1.5 SHA-256 over `content`, base64 (64-character lines), as IMDS serves `signature`.
absl::StatusOr<std::string> SignRsaSignature(const TestAwsSigner& signer, absl::string_view content);

// Fields for a generated document; defaults describe a plausible instance.
struct DocumentFields {
  std::string account_id = "123456789012";
  std::string region = "us-east-1";
  std::string availability_zone;  // empty: region + "a"
  std::string instance_id = "i-0123456789abcdef0";
  std::string image_id = "ami-0123456789abcdef0";
  std::string instance_type = "m6a.large";
  std::string architecture = "x86_64";
  std::string private_ip = "10.0.0.10";
  absl::Time pending_time = absl::FromUnixSeconds(1700000000);
};

// A pretty-printed document in AWS's layout and key order (`"key" : value`, nulls included).
std::string MakeDocument(const DocumentFields& fields);

}  // namespace spirecvm::awsiid::testing
