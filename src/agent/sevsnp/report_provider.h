// Where the agent gets an SEV-SNP attestation report from. Implementations: configfs-tsm (tsm_provider.h), the
// /dev/sev-guest ioctl (sev_guest_provider.h), "auto" (auto_provider.h: tsm, else sev-guest) and a TEST/DEMO-ONLY
// simulator (simulated_provider.h). The catalog (agent/catalog.h) names them; provider_config.h reads the
// `sev_snp {}` block that selects one.
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

// What the catalog builds a provider with. Empty today: every provider is configured by the `sev_snp` block alone.
struct ReportProviderDeps {};

// Thread-safety: GetReport is NOT required to be safe to call concurrently (providers keep per-process state such
// as configfs entry names, and the device takes one request at a time); callers serialize (the aws_iid attestor
// holds a mutex around it).
class ReportProvider {
 public:
  virtual ~ReportProvider() = default;
  // "tsm", "sev-guest", "simulated": for logs and the `unavailable` reason.
  virtual std::string name() const = 0;
  // A report whose REPORT_DATA is `report_data`. Errors name the provider, the file or device, and the reason.
  virtual absl::StatusOr<Report> GetReport(const ReportData& report_data) = 0;
};

}  // namespace spirecvm::agent::snp
