// Report provider "auto": configfs-tsm when its directory exists, else the /dev/sev-guest ioctl, else a clear
// NotFound. Decided per report (cheap stat calls), so a provider built at startup stays correct.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/sevsnp/report_provider.h"

namespace spirecvm::agent::snp {

inline constexpr char kNoDeviceMessage[] = "no SEV-SNP guest device: is this an SEV-SNP VM?";

class AutoProvider final : public ReportProvider {
 public:
  AutoProvider(std::string tsm_path, std::string device);
  std::string name() const override { return "auto"; }
  absl::StatusOr<Report> GetReport(const ReportData& report_data) override;
  // Which provider GetReport would use now: "tsm", "sev-guest", or NotFound.
  absl::StatusOr<std::string> Select() const;

  const std::string& tsm_path() const { return tsm_path_; }
  const std::string& device() const { return device_; }

 private:
  std::string tsm_path_, device_;
  std::unique_ptr<ReportProvider> tsm_, sev_guest_;
};

}  // namespace spirecvm::agent::snp
