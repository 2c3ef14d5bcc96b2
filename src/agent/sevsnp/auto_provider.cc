#include "agent/sevsnp/auto_provider.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "agent/sevsnp/sev_guest_provider.h"
#include "agent/sevsnp/tsm_provider.h"
#include "common/status.h"

namespace spirecvm::agent::snp {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

AutoProvider::AutoProvider(std::string tsm_path, std::string device)
    : tsm_path_(std::move(tsm_path)), device_(std::move(device)) {
  TsmOptions t;
  t.root = tsm_path_;
  tsm_ = std::make_unique<TsmProvider>(std::move(t));
  SevGuestOptions g;
  g.device = device_;
  sev_guest_ = std::make_unique<SevGuestProvider>(std::move(g));
}

absl::StatusOr<std::string> AutoProvider::Select() const {
  if (Exists(tsm_path_)) return std::string("tsm");
  if (Exists(device_)) return std::string("sev-guest");
  return absl::NotFoundError(absl::StrCat(kNoDeviceMessage, " (neither ", tsm_path_, " nor ", device_, " exists)"));
}

absl::StatusOr<Report> AutoProvider::GetReport(const ReportData& report_data) {
  ASSIGN_OR_RETURN(const std::string which, Select());
  return which == "tsm" ? tsm_->GetReport(report_data) : sev_guest_->GetReport(report_data);
}

}  // namespace spirecvm::agent::snp
