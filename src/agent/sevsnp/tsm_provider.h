// Report provider "tsm": configfs-tsm (Linux 6.7+), the vendor-neutral report interface.
//
//   mkdir <root>/<unique name>            configfs creates the attribute files
//   read  provider                        must be "sev_guest" (a TDX guest says "tdx_guest")
//   write privlevel (optional)            the VMPL to request
//   write inblob                          exactly 64 bytes: REPORT_DATA
//   read  outblob, auxblob                the report and the host's certificate table (may be empty)
//   read  generation                      must equal the number of writes made: otherwise another process wrote
//                                         into our entry between our write and our read, and the report may carry
//                                         its REPORT_DATA; the provider then starts over in a fresh entry
//   rmdir <root>/<unique name>            always, on every path
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agent/sevsnp/report_provider.h"

namespace spirecvm::agent::snp {

inline constexpr char kDefaultTsmPath[] = "/sys/kernel/config/tsm/report";

struct TsmOptions {
  std::string root = kDefaultTsmPath;
  std::optional<uint32_t> privlevel;  // written to `privlevel` when set
  int max_attempts = 3;               // fresh entries tried when `generation` shows a race
  // Seams for tests: create and remove one report entry directory. Default mkdir(2) (0700) and rmdir(2):
  // on configfs, mkdir creates the attribute files and rmdir removes them. A fake creates the files itself.
  std::function<absl::Status(const std::string& dir)> make_entry;
  std::function<absl::Status(const std::string& dir)> remove_entry;
};

class TsmProvider final : public ReportProvider {
 public:
  explicit TsmProvider(TsmOptions options);
  std::string name() const override { return "tsm"; }
  absl::StatusOr<Report> GetReport(const ReportData& report_data) override;

 private:
  // One attempt in a fresh entry. Aborted on a generation mismatch (the caller retries).
  absl::StatusOr<Report> Attempt(const ReportData& report_data);
  std::string UniqueEntryName();

  TsmOptions options_;
  uint64_t counter_ = 0;
};

}  // namespace spirecvm::agent::snp
