// Report verification: signature over bytes 0..0x29F with the VCEK/VLEK, the certificate chain up to
// a pinned AMD ARK, and the certificate <-> report binding. Policy (policy/policy.h) is a separate,
// later step that only ever sees a VerifiedReport.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/abi/cert_table.h"
#include "attestation/sevsnp/abi/report.h"
#include "attestation/sevsnp/certs/chain.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "attestation/sevsnp/certs/sources.h"

namespace spirecvm::sevsnp::verify {

struct VerifierOptions {
  // Extra roots (insecure; test signer / simulator only) and fixed CRLs.
  certs::TrustConfig trust;
  // Local directory / KDS / on-disk cache for intermediates, roots, VCEKs and CRLs.
  certs::ChainSourceConfig sources;
  // Look up the ARK-signed CRL for the chain's product from `sources` when a chain is first
  // verified, and reject revoked intermediates. A missing CRL is then an error.
  bool check_crl = false;
  // Size of the verified-chain cache (keyed by the VCEK/VLEK fingerprint).
  size_t chain_cache_entries = 4096;
  // How long a verified chain is reused before it is verified again (CRLs are re-read then).
  absl::Duration chain_cache_ttl = absl::Hours(24);
};

struct VerifyRequest {
  std::string report;                               // exactly 1184 bytes
  std::string endorsement_cert;                     // optional VCEK/VLEK, DER or PEM
  std::string chain_pem;                            // optional: intermediate (ASK/ASVK), optionally then the ARK
  std::string cert_table;                           // optional GHCB certificate table (extended report / auxblob)
  absl::Time now = absl::InfinitePast();            // required: validity time
  std::optional<std::string> expected_report_data;  // optional: exactly 64 raw bytes
  abi::Product product_fallback = abi::Product::kUnknown;  // v2 reports have no CPUID
};

// Facts of a report whose signature, chain and binding verified.
struct VerifiedReport {
  abi::Report report;
  abi::Product product = abi::Product::kUnknown;
  abi::SigningKey signing_key = abi::SigningKey::kVcek;
  abi::Tcb reported_tcb, current_tcb, committed_tcb, launch_tcb;
  certs::EndorsementInfo endorsement;
  bool root_is_pinned_amd = false;  // false: chained to an insecure_extra_roots entry
  bool chain_from_cache = false;

  std::string MeasurementHex() const;
  std::string HostDataHex() const;
  std::string ReportDataHex() const;
  std::string ChipIdHex() const;
  std::string ReportIdHex() const;
  // Every fact as a JSON object (for the CLI and logs).
  std::string ToJson(int indent = 2) const;
};

class Verifier {
 public:
  static absl::StatusOr<std::unique_ptr<Verifier>> Create(VerifierOptions options);

  // InvalidArgument: malformed evidence or a failed cryptographic/binding check;
  // PermissionDenied: untrusted root, revoked intermediate, report_data mismatch;
  // NotFound/Unavailable: a needed certificate could not be obtained.
  absl::StatusOr<VerifiedReport> Verify(const VerifyRequest& request) const;

  certs::ChainCache& chain_cache() const { return *cache_; }

 private:
  explicit Verifier(VerifierOptions options);
  absl::StatusOr<std::shared_ptr<const certs::VerifiedChain>> VerifyChainFor(const abi::Report& report,
                                                                             abi::Product report_product,
                                                                             const std::string& leaf_der, X509* leaf,
                                                                             const VerifyRequest& request,
                                                                             const abi::CertTable& table) const;

  VerifierOptions options_;
  std::unique_ptr<certs::ChainSources> sources_;
  std::unique_ptr<certs::ChainCache> cache_;
};

// ECDSA P-384 / SHA-384 verification of report bytes 0..0x29F with R and S little-endian at
// 0x2A0/0x2E8. `report` must be kReportSize bytes.
absl::Status VerifyReportSignature(absl::string_view report_bytes, EVP_PKEY* key);

// Certificate <-> report binding: key kind == SIGNING_KEY, TCB == REPORTED_TCB component-wise, and
// for a VCEK hwID == CHIP_ID when CHIP_ID is not zero.
absl::Status CheckBinding(const abi::Report& report, abi::Product product, const certs::EndorsementInfo& endorsement);

}  // namespace spirecvm::sevsnp::verify
