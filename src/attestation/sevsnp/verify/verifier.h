// Report verification: signature over bytes 0..0x29F with the VCEK/VLEK, the certificate chain up to
// a pinned AMD ARK, and the certificate <-> report binding. Policy (policy/policy.h) is a separate,
// later step that only ever sees a VerifiedReport.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  // Look up the ARK-signed CRL for the chain's product from `sources` when a chain is verified, and reject revoked
  // intermediates. Fails closed: no applicable CRL, a CRL from another issuer or past its nextUpdate is an error. A
  // chain verified against a CRL is reused until chain_cache_ttl or the CRL's nextUpdate, whichever is first; KDS
  // CRLs are re-fetched on the same schedule.
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

// An endorsement (VCEK/VLEK) certificate: its DER, and the parsed certificate once needed.
struct EndorsementCert {
  std::string der;
  ssl::X509Ptr cert;  // null until parsed (a cache hit never parses it)
};

// An (intermediate, root) pair to try for the endorsement; `root` may be null when the evidence
// carried none (the chain sources then supply it).
struct ChainCandidate {
  std::shared_ptr<X509> intermediate, root;
  std::string source;  // "supplied chain", "certificate table", "AMD certificate source"
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
  // The endorsement: supplied, else from the certificate table, else (VCEK only) from a chain source.
  absl::StatusOr<EndorsementCert> FindEndorsement(const VerifyRequest& request, const abi::CertTable& table,
                                                  const abi::Report& report, abi::Product report_product) const;
  // The endorsement's verified chain, from the cache or VerifyChainFor (then cached).
  absl::StatusOr<std::shared_ptr<const certs::VerifiedChain>> ChainFor(EndorsementCert& leaf,
                                                                       abi::Product report_product,
                                                                       const VerifyRequest& request,
                                                                       const abi::CertTable& table,
                                                                       bool& from_cache) const;
  // Chain: the candidates supplied with the evidence, completed from the sources, then the first
  // that verifies under TrustWithCrl.
  absl::StatusOr<std::shared_ptr<const certs::VerifiedChain>> VerifyChainFor(X509* leaf, abi::Product report_product,
                                                                             const VerifyRequest& request,
                                                                             const abi::CertTable& table) const;
  // Fills candidates' missing roots from the chain sources, or makes the sources' pair the only
  // candidate when none was supplied; the sources' error when they were needed and failed.
  absl::Status CompleteFromSources(std::vector<ChainCandidate>& candidates, abi::Product product, abi::SigningKey kind,
                                   absl::Time now) const;
  // Revocation: the configured trust plus, with check_crl, the ARK-signed CRL of (product, kind).
  absl::StatusOr<certs::TrustConfig> TrustWithCrl(abi::Product product, abi::SigningKey kind, absl::Time now) const;

  VerifierOptions options_;
  std::unique_ptr<certs::ChainSources> sources_;
  std::unique_ptr<certs::ChainCache> cache_;
};

// The steps of Verifier::Verify that need no chain source, each callable alone.

// The report's product: CPUID (v3+), else `fallback`; InvalidArgument for a v3+ report with an
// unknown CPUID and no fallback.
absl::StatusOr<abi::Product> ReportProduct(const abi::Report& report, abi::Product fallback);

// Candidates from the evidence: the --chain PEM (intermediate, optionally the ARK; else the table's
// ARK), then the certificate table's ASK/ASVK (with its ARK, if any).
absl::StatusOr<std::vector<ChainCandidate>> SuppliedChainCandidates(absl::string_view chain_pem,
                                                                    const abi::CertTable& table);

// The first candidate whose chain verifies; otherwise the first candidate's error (prefixed with its
// source). A candidate without a root fails with `no_root_reason`, or NotFound when that is OK.
absl::StatusOr<certs::VerifiedChain> FirstVerifiedChain(X509* leaf, const std::vector<ChainCandidate>& candidates,
                                                        absl::Time now, const certs::TrustConfig& trust,
                                                        const absl::Status& no_root_reason);

// The product of a verified report: the chain's (or else the report's) product; they must agree.
absl::StatusOr<abi::Product> ReconcileProduct(const abi::Report& report, abi::Product report_product,
                                              abi::Product chain_product);

// PermissionDenied unless REPORT_DATA equals `expected` (64 raw bytes) when set.
absl::Status CheckReportData(const abi::Report& report, const std::optional<std::string>& expected);

// ECDSA P-384 / SHA-384 verification of report bytes 0..0x29F with R and S little-endian at
// 0x2A0/0x2E8. `report` must be kReportSize bytes.
absl::Status VerifyReportSignature(absl::string_view report_bytes, EVP_PKEY* key);

// Certificate <-> report binding: key kind == SIGNING_KEY, TCB == REPORTED_TCB component-wise, and
// for a VCEK hwID == CHIP_ID when CHIP_ID is not zero.
absl::Status CheckBinding(const abi::Report& report, abi::Product product, const certs::EndorsementInfo& endorsement);

}  // namespace spirecvm::sevsnp::verify
