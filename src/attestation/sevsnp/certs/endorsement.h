// VCEK / VLEK certificates: AMD's private extensions (arc 1.3.6.1.4.1.3704.1) and certificate
// loading helpers. Parsing only; chain trust lives in chain.h.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/sevsnp/abi/report.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::sevsnp::certs {

// OIDs of the AMD extensions.
inline constexpr char kOidStructVersion[] = "1.3.6.1.4.1.3704.1.1";
inline constexpr char kOidProductName[] = "1.3.6.1.4.1.3704.1.2";
inline constexpr char kOidBlSpl[] = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr char kOidTeeSpl[] = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr char kOidSnpSpl[] = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr char kOidUcodeSpl[] = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr char kOidFmcSpl[] = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr char kOidHwId[] = "1.3.6.1.4.1.3704.1.4";
inline constexpr char kOidCspId[] = "1.3.6.1.4.1.3704.1.5";

// What an endorsement-key certificate says about itself.
struct EndorsementInfo {
  abi::SigningKey kind = abi::SigningKey::kVcek;  // VCEK: has hwID; VLEK: has csp_id
  int struct_version = 0;                         // 0 Milan/Genoa, 1 Turin
  std::string product_name;                       // as in the certificate, e.g. "Milan-B0"
  abi::Product product = abi::Product::kUnknown;  // parsed from product_name
  abi::Tcb tcb;                                   // blSPL, teeSPL, snpSPL, ucodeSPL (+ fmcSPL)
  bool has_fmc = false;
  std::string hw_id;   // VCEK: 64 raw bytes (8 on Turin), OCTET STRING wrapper removed
  std::string csp_id;  // VLEK: e.g. "CN=cc-eu-west-1.amazonaws.com"
};

// Parses the AMD extensions. Rejects: missing blSPL/teeSPL/snpSPL/ucodeSPL, SPL values outside
// 0..255, a Turin certificate (structVersion 1) without fmcSPL, both or neither of hwID and csp_id,
// a hwID of a length other than 64 (or 8 for Turin), duplicate AMD extensions.
// The steps below, in order.
absl::StatusOr<EndorsementInfo> ParseEndorsementExtensions(X509* cert);

// AMD extension OID -> extnValue contents (DER of the inner value).
using AmdExtensions = std::map<std::string, std::string>;
// Every extension under 1.3.6.1.4.1.3704.1; rejects duplicates.
absl::StatusOr<AmdExtensions> CollectAmdExtensions(X509* cert);
// structVersion (0 or 1) and productName.
absl::Status ParseEndorsementProduct(const AmdExtensions& ext, EndorsementInfo& info);
// The SPLs into info.tcb (fmcSPL required on Turin); needs ParseEndorsementProduct first.
absl::Status ParseEndorsementTcb(const AmdExtensions& ext, EndorsementInfo& info);
// Exactly one of hwID (VCEK; 64 bytes, 8 on Turin) and csp_id (VLEK); sets info.kind.
absl::Status ParseEndorsementKeyId(const AmdExtensions& ext, EndorsementInfo& info);

// Loads one certificate from DER or PEM bytes (auto-detected).
absl::StatusOr<ssl::X509Ptr> LoadCertificate(absl::string_view der_or_pem);
// Loads every certificate of a PEM bundle (or a single DER certificate), in order.
absl::StatusOr<std::vector<ssl::X509Ptr>> LoadCertificates(absl::string_view der_or_pem);
// DER encoding of a certificate.
std::string CertDer(X509* cert);
// SHA-256 of arbitrary bytes / of a certificate's DER, as raw 32 bytes.
std::string Sha256(absl::string_view bytes);
std::string CertFingerprint(X509* cert);
// The subject CN, or "" when absent.
std::string CommonName(X509* cert);

}  // namespace spirecvm::sevsnp::certs
