// The SEV-SNP challenge of `aws_iid` node attestation, as both sides see it on the wire. One header so the
// agent (which asks the hardware for a report) and the server (which verifies it) cannot drift apart.
//
//   server -> agent  challenge  {"sev_snp_nonce": "<base64 std of 32 random bytes>"}
//   agent  -> server answer     {"report": "<base64 1184 bytes>", "cert_table": "<base64, may be empty>"}
//                           or  {"unavailable": "<why the agent has no report>"}
//
//   REPORT_DATA (64 bytes) = SHA-512("spire-cvm/sev-snp/v1" || nonce || SHA-256(CSR SubjectPublicKeyInfo DER)
//                                    || SHA-256(IID document bytes, exactly as sent))
//
// The nonce makes the report fresh, the SPKI hash binds it to the key the agent's SVID will certify (a report
// relayed from another machine carries another key), the document hash binds it to this instance's IID.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spirecvm::sevsnp {

inline constexpr std::string_view kReportDataContext = "spire-cvm/sev-snp/v1";
inline constexpr size_t kNonceSize = 32;
inline constexpr size_t kReportDataSize = 64;
// Upper bound on challenge and answer JSON (a report is 1184 bytes, a certificate table a few KiB; the
// kernel caps it at 16 KiB today): anything larger is refused before parsing.
inline constexpr size_t kMaxAnswerBytes = 64 * 1024;
inline constexpr size_t kMaxChallengeBytes = 4 * 1024;

// The 64 raw bytes of REPORT_DATA. `nonce` should be kNonceSize bytes (callers check; the hash is defined for
// any length so the function cannot fail).
std::string SevSnpReportData(std::string_view nonce, std::string_view csr_spki_der, std::string_view iid_document);

struct SevSnpChallenge {
  std::string nonce;  // raw bytes, exactly kNonceSize

  std::string ToJson() const;
  // A JSON object no larger than kMaxChallengeBytes with "sev_snp_nonce" a standard base64 string of exactly
  // kNonceSize bytes. Unknown members are ignored (room for later rounds). InvalidArgument otherwise.
  static absl::StatusOr<SevSnpChallenge> FromJson(std::string_view json);
};

struct SevSnpAnswer {
  // Either a report (raw bytes; the verifier checks its size) with the host's certificate table (raw, may be
  // empty), or `unavailable` set to the agent's reason for not having one.
  std::string report;
  std::string cert_table;
  std::string unavailable;

  bool is_unavailable() const { return !unavailable.empty(); }
  std::string ToJson() const;
  // A JSON object no larger than kMaxAnswerBytes holding either "unavailable" (a non-empty string) or
  // "report" (standard base64, non-empty) with an optional "cert_table" (standard base64, may be empty);
  // both forms at once is an error. Unknown members are ignored. InvalidArgument otherwise.
  static absl::StatusOr<SevSnpAnswer> FromJson(std::string_view json);
};

}  // namespace spirecvm::sevsnp
