// The agent's `sev_snp { ... }` block inside NodeAttestor "aws_iid" plugin_data, and the provider it selects.
//
//   sev_snp {
//     report_provider  = "auto"            # auto | tsm | sev-guest | simulated | none
//     tsm_path         = "/sys/kernel/config/tsm/report"
//     sev_guest_device = "/dev/sev-guest"
//     simulator {                          # TEST/DEMO ONLY, with report_provider = "simulated"
//       dir = "/var/lib/spire-cvm/sevsnp-sim"
//       measurement = "<96 hex>"  policy = "0x30000"  vmpl = 0  version = 3  guest_svn = 0
//       report_id = "<64 hex>"  host_data = "<64 hex>"  signing_key = "vlek"  debug = false
//       tcb { bl = 3  tee = 0  snp = 8  ucode = 115 }
//       corrupt = "none"
//     }
//   }
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agent/sevsnp/report_provider.h"
#include "agent/sevsnp/sev_guest_provider.h"
#include "agent/sevsnp/simulated_provider.h"
#include "agent/sevsnp/tsm_provider.h"
#include "common/config_reader.h"

namespace spirecvm::agent::snp {

enum class ProviderKind { kAuto, kTsm, kSevGuest, kSimulated, kNone };
std::string_view ProviderKindName(ProviderKind k);  // "auto", "tsm", "sev-guest", "simulated", "none"

struct SevSnpConfig {
  ProviderKind provider = ProviderKind::kAuto;
  std::string tsm_path = kDefaultTsmPath;
  std::string sev_guest_device = kDefaultSevGuestDevice;
  std::optional<SimulatorOptions> simulator;  // set exactly when provider == kSimulated
};

// Reads the keys of a `sev_snp` section. Every problem (type errors, bad values, unknown keys once the caller
// runs Finish()) is recorded in `section`; the result holds defaults where a value was bad.
SevSnpConfig ParseSevSnpConfig(config::Section& section);

inline constexpr char kNoDeviceMessage[] = "no SEV-SNP guest device: is this an SEV-SNP VM?";

// "auto": configfs-tsm when <tsm_path> exists, else the ioctl when <device> exists, else NotFound with
// kNoDeviceMessage. Decided per report (cheap stat calls), so a provider built at startup stays correct.
class AutoProvider final : public ReportProvider {
 public:
  AutoProvider(std::string tsm_path, std::string device);
  std::string name() const override { return "auto"; }
  absl::StatusOr<Report> GetReport(const ReportData& report_data) override;
  // Which provider GetReport would use now: "tsm", "sev-guest", or NotFound.
  absl::StatusOr<std::string> Select() const;

 private:
  std::string tsm_path_, device_;
  std::unique_ptr<ReportProvider> tsm_, sev_guest_;
};

// The provider the config names; nullptr for "none". Building "simulated" loads (or creates) its hierarchy.
absl::StatusOr<std::unique_ptr<ReportProvider>> NewReportProvider(const SevSnpConfig& config);

}  // namespace spirecvm::agent::snp
