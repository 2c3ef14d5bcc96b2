// Verification of the instance identity document's signatures, with the KEY of AWS's region
// certificate (never its validity period, issuer or chain: AWS re-issued certificates with the
// same key, and the certificate is the trust anchor itself).
//
//   rsa2048   base64 CMS SignedData, BER, content attached, RSA / SHA-256. Two generations exist:
//             old blobs sign the content directly (signatureAlgorithm rsaEncryption, no signed
//             attributes); newer ones carry signed attributes (contentType, messageDigest,
//             signingTime, CMSAlgorithmProtection) with sha256WithRSAEncryption. Both accepted.
//             The signed content must be byte-identical to the document (substitution attack).
//   signature base64 RSA PKCS#1 v1.5 / SHA-256 over the document bytes (RSA-1024 region key).
//   pkcs7     base64 CMS SignedData, DSA / SHA-1, signed attributes. SHA-1 and 1024-bit DSA are
//             weak; OpenSSL 3's default provider still verifies them (security levels apply to
//             TLS, not to EVP_DigestVerify), and this form is only used when configured.
//
// The CMS is checked explicitly rather than through CMS_verify: exactly one SignerInfo, content
// type id-data, digest and signature algorithms from a fixed allow-list per form, the signer's
// key taken from the region certificate regardless of the SignerInfo's issuer/serial (which
// would not match a re-issued certificate), messageDigest == digest(content), signature valid.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/awsiid/certs.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::awsiid {

// Upper bound on a decoded signature blob; real rsa2048 blobs are under 2 KiB.
inline constexpr size_t kMaxSignatureBytes = 64 * 1024;

// Decodes standard base64 as IMDS serves it: line breaks and spaces are ignored, '=' padding is
// required to complete the last quantum, any other character is an error. `what` names the input
// in the error ("rsa2048 signature is not valid base64: ...").
absl::StatusOr<std::string> DecodeBase64(absl::string_view what, absl::string_view b64);
// Standard base64 with '=' padding; when line_width > 0, '\n' after every line_width characters
// (IMDS serves rsa2048 with 64-character lines).
std::string EncodeBase64(absl::string_view bytes, size_t line_width = 0);

// One-certificate checks on DECODED blobs. InvalidArgument with the reason (bad evidence);
// messages do not name the region (callers add it).
// The first step of VerifyCmsWithCert: `cms_der` is one DER CMS SignedData of id-data with its
// content attached, and nothing after it.
absl::StatusOr<ssl::CmsPtr> ParseSignedCms(SignatureForm form, absl::string_view cms_der);
absl::Status VerifyCmsWithCert(SignatureForm form, absl::string_view document, absl::string_view cms_der, X509* cert);
absl::Status VerifyRsaSignatureWithCert(absl::string_view document, absl::string_view signature, X509* cert);

// Verifies `blob_base64` (as IMDS served it) of `form` over `document` (exact bytes) with the
// certificate(s) the store holds for `region` (the document's region). Errors name the form, the
// region and the certificate file, e.g.
//   rsa2048 signature does not verify with the AWS certificate for region "us-east-1"
//   (aws_certificates_path /dir, rsa2048/us-east-1.pem): ...
//   rsa2048 signature: signed content differs from the instance identity document
absl::Status VerifyDocumentSignature(const CertStore& store, SignatureForm form, absl::string_view region,
                                     absl::string_view document, absl::string_view blob_base64);

}  // namespace spirecvm::awsiid
