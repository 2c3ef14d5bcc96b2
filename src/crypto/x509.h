// X.509 certificate parsing/encoding helpers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::crypto {

// Exactly one DER certificate; trailing bytes are an error.
absl::StatusOr<ssl::X509Ptr> ParseCertDer(std::string_view der);
// Concatenated DER certificates (Workload API form); error when empty or malformed.
absl::StatusOr<std::vector<ssl::X509Ptr>> ParseCertsDerConcat(std::string_view der);
// One or more PEM "CERTIFICATE" blocks; error when none.
absl::StatusOr<std::vector<ssl::X509Ptr>> ParseCertsPem(std::string_view pem);
// The "CERTIFICATE" PEM blocks of `pem` as text (BEGIN line to END line, without the newline after it), in
// order, without decoding them; text outside the blocks and an unterminated last block are ignored.
std::vector<std::string_view> PemCertificateBlocks(std::string_view pem);
// Whether two PEM blocks hold the same base64 text (whitespace and line breaks ignored): the same DER.
bool SamePemBlock(std::string_view a, std::string_view b);
std::string CertToDer(const X509* cert);
std::string CertToPem(const X509* cert);
// Serial as a decimal string (as SPIRE prints serials).
std::string SerialDecimal(const X509* cert);
absl::Time NotBefore(const X509* cert);
absl::Time NotAfter(const X509* cert);
// Lowercase hex SHA-256 of the DER.
std::string FingerprintSha256Hex(const X509* cert);
// The subject / authority key identifier extension as lowercase hex (SPIRE's authority ids); empty when absent.
std::string SubjectKeyIdHex(const X509* cert);
std::string AuthorityKeyIdHex(const X509* cert);
// URI SANs in certificate order.
std::vector<std::string> UriSans(const X509* cert);
// DNS SANs in certificate order.
std::vector<std::string> DnsSans(const X509* cert);
// SubjectPublicKeyInfo DER of the certificate's key.
absl::StatusOr<std::string> CertSpkiDer(const X509* cert);
// A new owned reference to `cert` (X509_up_ref).
ssl::X509Ptr ShareCert(X509* cert);
// Converts absl::Time to an ASN1_TIME (UTCTime before 2050, GeneralizedTime after).
absl::StatusOr<ssl::Asn1TimePtr> ToAsn1Time(absl::Time t);
absl::StatusOr<absl::Time> FromAsn1Time(const ASN1_TIME* t);

}  // namespace spirecvm::crypto
