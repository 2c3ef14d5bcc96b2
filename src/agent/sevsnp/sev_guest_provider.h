// Report provider "sev-guest": the SNP_GET_EXT_REPORT ioctl on /dev/sev-guest (kernels before configfs-tsm,
// or without configfs mounted). The extended report carries the host's certificate table (on AWS the VLEK,
// which a guest cannot fetch from AMD).
//
// Size negotiation, as the kernel implements it: the first call passes certs_len = 0; a host with certificates
// fails it with EIO and vmm_error = INVALID_LEN, having written the size it needs (a page multiple) into
// certs_len; the second call passes a buffer of that size. vmm_error = BUSY means the host is throttling guest
// requests: retry with exponential backoff.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/sevsnp/report_provider.h"
#include "agent/sevsnp/sev_guest_abi.h"

namespace spirecvm::agent::snp {

inline constexpr char kDefaultSevGuestDevice[] = "/dev/sev-guest";
// Upper bound on the certificate buffer a host may ask for (the kernel caps it at 16 KiB today).
inline constexpr size_t kMaxCertsLen = 32 * 1024;

struct SevGuestOptions {
  std::string device = kDefaultSevGuestDevice;
  uint32_t vmpl = 0;  // the VMPL written into the request (the guest kernel runs at VMPL 0 on AWS)
  int max_busy_retries = 8;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  std::function<void(absl::Duration)> sleep;  // default absl::SleepFor; tests record
  // Test seam: the ioctl. Returns 0 or an errno value. Default: open(device, O_RDWR) per report, ioctl(2).
  std::function<int(unsigned long request, abi::SnpGuestRequestIoctl* arg)> ioctl;
};

class SevGuestProvider final : public ReportProvider {
 public:
  explicit SevGuestProvider(SevGuestOptions options);
  std::string name() const override { return "sev-guest"; }
  absl::StatusOr<Report> GetReport(const ReportData& report_data) override;

 private:
  // One SNP_GET_EXT_REPORT call and what came back.
  struct Attempt {
    int err = 0;  // errno, 0 on success
    uint32_t fw = 0, vmm = 0;
    size_t certs_len = 0;  // what the host wrote back into certs_len (the size it needs on INVALID_LEN)
    std::vector<uint8_t> resp;
  };
  Attempt Call(const ReportData& report_data, std::vector<uint8_t>& certs) const;
  // Resizes `certs` to what the host asked for in size-negotiation round `round`, or says why it will not.
  absl::Status GrowCerts(size_t need, int round, std::vector<uint8_t>& certs) const;
  absl::Status Failure(const Attempt& a) const;

  SevGuestOptions options_;
};

// Parses the 4000-byte MSG_REPORT_RSP: status 0, report_size == 1184 and within the buffer.
absl::StatusOr<std::string> ParseReportResponse(const uint8_t* resp, size_t resp_size, const std::string& device);

}  // namespace spirecvm::agent::snp
