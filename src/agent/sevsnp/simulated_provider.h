// Report provider "simulated": TEST/DEMO ONLY. Builds real-layout SEV-SNP reports and signs them with the
// TEST-ONLY AMD-like chain of sevsnp::sim::TestOnlyAmdSigner (loaded from, or created in, `dir`). Its ARK is not
// AMD's: a server accepts these reports only when its config names that ARK under an insecure_… option. Every
// field that matters to policy is configurable, and `corrupt` breaks the evidence in one chosen way for negative
// tests. The provider logs a loud warning when it is built.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agent/sevsnp/report_provider.h"
#include "attestation/sevsnp/abi/report.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"

namespace spirecvm::agent::snp {

// How to break the evidence (negative tests).
enum class Corruption {
  kNone,
  kSignature,    // flip a bit of the signature's R
  kReportData,   // sign a report whose REPORT_DATA is not the one asked for (valid signature, wrong binding)
  kMeasurement,  // change MEASUREMENT after signing (tampering: the signature no longer verifies)
  kCertTable,    // send no certificate table (the server must find the VLEK/VCEK elsewhere)
  kTruncate,     // send only the first 1000 bytes of the report (malformed)
  kSigningKey,   // claim the other key in SIGNING_KEY but sign with the configured one (binding mismatch)
};
// "none", "signature", "report_data", "measurement", "cert_table", "truncate", "signing_key".
absl::StatusOr<Corruption> ParseCorruption(std::string_view name);
std::string_view CorruptionName(Corruption c);

struct SimulatorOptions {
  std::string dir;  // where the simulated AMD hierarchy lives (created on first use: ark.pem is what a server trusts)
  std::optional<std::array<uint8_t, 48>> measurement;  // default: 48 bytes of 0x5A… see kDefaultMeasurementHex
  uint64_t policy = 0x30000;                           // SMT | reserved bit 17, as on AWS
  bool debug = false;                                  // sets POLICY bit 19 (DEBUG)
  uint32_t vmpl = 0;
  uint32_t version = 3;
  uint32_t guest_svn = 0;
  std::optional<std::array<uint8_t, 32>> report_id;  // default: random per provider (one "guest launch")
  std::optional<std::array<uint8_t, 32>> host_data;
  // REPORTED/CURRENT/COMMITTED/LAUNCH TCB; when it differs from the hierarchy's TCB a matching VCEK/VLEK is issued
  // under the same intermediate (so "TCB below minimum" is testable with a valid chain).
  std::optional<sevsnp::abi::Tcb> tcb;
  sevsnp::abi::SigningKey signing_key = sevsnp::abi::SigningKey::kVlek;  // like AWS shared tenancy
  Corruption corrupt = Corruption::kNone;
  // The VLEK's csp_id when the hierarchy is created in `dir` (e.g. "CN=cc-us-east-1.amazonaws.com", what a server's
  // aws_iid expects for an IID of us-east-1); empty: the simulator's own. Ignored when `dir` already holds one.
  std::string csp_id;
};

// The measurement the simulator reports unless configured (documented for demo entries).
inline constexpr char kDefaultMeasurementHex[] =
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

class SimulatedProvider final : public ReportProvider {
 public:
  // Loads the hierarchy from options.dir, or creates it there (RSA-4096 roots: takes a few seconds once).
  static absl::StatusOr<std::unique_ptr<SimulatedProvider>> Create(SimulatorOptions options);
  // Uses an existing signer (tests).
  static absl::StatusOr<std::unique_ptr<SimulatedProvider>> CreateWithSigner(
      SimulatorOptions options, std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> signer);

  std::string name() const override { return "simulated"; }
  absl::StatusOr<Report> GetReport(const ReportData& report_data) override;

  const SimulatorOptions& options() const { return options_; }
  const sevsnp::sim::TestOnlyAmdSigner& signer() const { return *signer_; }

 private:
  SimulatedProvider(SimulatorOptions options, std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> signer);
  absl::Status Init();
  // The unsigned report: configured fields, REPORT_DATA, and the kReportData corruption.
  sevsnp::abi::Report BuildReport(const ReportData& report_data) const;
  // Signs with the hierarchy's key (or the custom-TCB endorsement), applying the kSigningKey corruption.
  absl::StatusOr<std::string> Sign(sevsnp::abi::Report r) const;
  std::string CertTable() const;
  // The corruptions applied to the signed evidence.
  void CorruptAfterSigning(Report& out) const;

  SimulatorOptions options_;
  std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> signer_;
  std::array<uint8_t, 32> report_id_{};
  // Set when options_.tcb differs from the hierarchy's TCB: an endorsement for that TCB.
  std::optional<sevsnp::sim::IssuedEndorsement> custom_endorsement_;
};

}  // namespace spirecvm::agent::snp
