// The binding between a SEV-SNP report and the attestation it answers (shared by agent and server):
//   REPORT_DATA = SHA-512("spire-cvm/sev-snp/v1" || nonce || SHA-256(CSR SubjectPublicKeyInfo DER) || SHA-256(IID document))
// The nonce makes the report fresh, the key hash stops relaying it to another machine's key, and the
// document hash stops pairing it with another instance's identity document.
#pragma once

#include <string>
#include <string_view>

namespace spirecvm::sevsnp {

inline constexpr std::string_view kReportDataDomain = "spire-cvm/sev-snp/v1";
inline constexpr size_t kNonceSize = 32;

// Returns the 64 raw bytes to put into (and expect in) REPORT_DATA.
std::string SevSnpReportData(std::string_view nonce, std::string_view csr_spki_der, std::string_view iid_document);

// The challenge and answer carried on the AttestAgent stream (JSON).
//   challenge: {"sev_snp_nonce":"<base64 of 32 bytes>"}
//   answer:    {"report":"<base64>","cert_table":"<base64>"} or {"unavailable":"<reason>"}
inline constexpr std::string_view kChallengeNonceField = "sev_snp_nonce";

}  // namespace spirecvm::sevsnp
