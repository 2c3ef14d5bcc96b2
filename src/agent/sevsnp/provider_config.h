// The agent's `sev_snp { ... }` block inside NodeAttestor "aws_iid" plugin_data, and the readers of each report
// provider's keys (the catalog, agent/catalog.h, pairs each reader with its provider).
//
//   sev_snp {
//     report_provider  = "auto"            # auto | tsm | sev-guest | simulated | none
//     tsm_path         = "/sys/kernel/config/tsm/report"   (tsm, auto)
//     sev_guest_device = "/dev/sev-guest"                  (sev-guest, auto)
//     simulator {                          # TEST/DEMO ONLY, with report_provider = "simulated"
//       dir = "/var/lib/spire-cvm/sevsnp-sim"
//       measurement = "<96 hex>"  policy = "0x30000"  vmpl = 0  version = 3  guest_svn = 0
//       report_id = "<64 hex>"  host_data = "<64 hex>"  signing_key = "vlek"  debug = false
//       tcb { bl = 3  tee = 0  snp = 8  ucode = 115 }
//       corrupt = "none"
//     }
//   }
//
// tsm_path and sev_guest_device are accepted with every provider (switching report_provider is a one-line change)
// and read by the providers that use them; a simulator block is an error unless report_provider = "simulated".
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/sevsnp/auto_provider.h"
#include "agent/sevsnp/report_provider.h"
#include "agent/sevsnp/sev_guest_provider.h"
#include "agent/sevsnp/simulated_provider.h"
#include "agent/sevsnp/tsm_provider.h"
#include "common/config_reader.h"
#include "plugin/catalog.h"

namespace spirecvm::agent::snp {

using ReportProviderBuilder = plugin::Builder<ReportProvider, ReportProviderDeps>;

// The parsed `sev_snp` block: which provider, and how to build it with its typed configuration.
struct SevSnpConfig {
  std::string provider = "auto";  // the report_provider name
  ReportProviderBuilder build;    // null when report_provider names no known provider (an error was recorded)
};

// Reads the keys of a `sev_snp` section through the catalog's ReportProviders(). Every problem (type errors, bad
// values, unknown keys once the caller runs Finish()) is recorded in `section`.
SevSnpConfig ParseSevSnpConfig(config::Section& section);

// The provider the config names; nullptr for "none". Building "simulated" loads (or creates) its hierarchy.
absl::StatusOr<std::unique_ptr<ReportProvider>> NewReportProvider(const SevSnpConfig& config);

// Each provider's reader (of the `sev_snp` section) and builder, as the catalog lists them.
struct NoProviderConfig {};
NoProviderConfig ParseNoProvider(config::Section& sev_snp);
absl::StatusOr<std::unique_ptr<ReportProvider>> BuildNoProvider(const NoProviderConfig&, const ReportProviderDeps&);

struct AutoProviderConfig {
  std::string tsm_path = kDefaultTsmPath;
  std::string sev_guest_device = kDefaultSevGuestDevice;
};
AutoProviderConfig ParseAutoProvider(config::Section& sev_snp);
absl::StatusOr<std::unique_ptr<ReportProvider>> BuildAutoProvider(const AutoProviderConfig& c,
                                                                  const ReportProviderDeps&);

TsmOptions ParseTsmProvider(config::Section& sev_snp);
absl::StatusOr<std::unique_ptr<ReportProvider>> BuildTsmProvider(const TsmOptions& o, const ReportProviderDeps&);

SevGuestOptions ParseSevGuestProvider(config::Section& sev_snp);
absl::StatusOr<std::unique_ptr<ReportProvider>> BuildSevGuestProvider(const SevGuestOptions& o,
                                                                      const ReportProviderDeps&);

// Reads the `simulator` child of `sev_snp` (required: its absence is recorded against report_provider).
SimulatorOptions ParseSimulatedProvider(config::Section& sev_snp);
// The keys of a `simulator` section.
SimulatorOptions ParseSimulatorOptions(config::Section& simulator);
absl::StatusOr<std::unique_ptr<ReportProvider>> BuildSimulatedProvider(const SimulatorOptions& o,
                                                                       const ReportProviderDeps&);

}  // namespace spirecvm::agent::snp
