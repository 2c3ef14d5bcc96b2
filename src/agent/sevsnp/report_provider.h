// Where the agent gets an SEV-SNP attestation report from. Implementations: configfs-tsm (tsm_provider.h), the
// /dev/sev-guest ioctl (sev_guest_provider.h), and a TEST/DEMO-ONLY simulator (simulated_provider.h);
// provider_config.h parses the `sev_snp {}` block and picks one ("auto": tsm, else sev-guest).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace spirecvm::agent::snp {

inline constexpr size_t kReportDataSize = 64;
using ReportData = std::array<uint8_t, kReportDataSize>;

struct Report {
  std::string report;      // the attestation report as the firmware produced it (1184 bytes)
  std::string cert_table;  // the host's GHCB certificate table (VLEK/VCEK, ASK/ASVK, ARK); may be empty
};

class ReportProvider {
 public:
  virtual ~ReportProvider() = default;
  // "tsm", "sev-guest", "simulated": for logs and the `unavailable` reason.
  virtual std::string name() const = 0;
  // A report whose REPORT_DATA is `report_data`. Errors name the provider, the file or device, and the reason.
  virtual absl::StatusOr<Report> GetReport(const ReportData& report_data) = 0;
};

}  // namespace spirecvm::agent::snp
