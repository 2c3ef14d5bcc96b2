#include "agent/sevsnp/sev_guest_provider.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attestation/sevsnp/abi/report.h"
#include "common/status.h"

namespace spirecvm::agent::snp {
namespace {

uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// The real device: one open per report, so a provider never holds the device between attestations.
int DeviceIoctl(const std::string& device, unsigned long request, abi::SnpGuestRequestIoctl* arg) {
  int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc;
  do {
    rc = ::ioctl(fd, request, arg);
  } while (rc < 0 && errno == EINTR);
  int err = rc < 0 ? errno : 0;
  ::close(fd);
  return err;
}

}  // namespace

absl::StatusOr<std::string> ParseReportResponse(const uint8_t* resp, size_t resp_size, const std::string& device) {
  if (resp_size < abi::kRespReportOffset) {
    return absl::InternalError(absl::StrCat(device, ": report response of ", resp_size, " bytes is too short"));
  }
  const uint32_t status = Le32(resp + abi::kRespStatusOffset);
  if (status != 0) {
    return absl::InternalError(
        absl::StrFormat("%s: the firmware refused the report request (status 0x%x)", device, status));
  }
  const uint32_t size = Le32(resp + abi::kRespReportSizeOffset);
  if (size != sevsnp::abi::kReportSize || size > resp_size - abi::kRespReportOffset) {
    return absl::InternalError(
        absl::StrCat(device, ": the firmware returned a report of ", size, " bytes, want ", sevsnp::abi::kReportSize));
  }
  return std::string(reinterpret_cast<const char*>(resp + abi::kRespReportOffset), size);
}

SevGuestProvider::SevGuestProvider(SevGuestOptions options) : options_(std::move(options)) {
  if (!options_.sleep) options_.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  if (!options_.ioctl) {
    options_.ioctl = [device = options_.device](unsigned long request, abi::SnpGuestRequestIoctl* arg) {
      return DeviceIoctl(device, request, arg);
    };
  }
}

SevGuestProvider::Attempt SevGuestProvider::Call(const ReportData& report_data, std::vector<uint8_t>& certs) const {
  abi::SnpExtReportReq req;
  std::memset(&req, 0, sizeof(req));
  std::memcpy(req.data.user_data, report_data.data(), report_data.size());
  req.data.vmpl = options_.vmpl;
  req.certs_address = certs.empty() ? 0 : reinterpret_cast<uint64_t>(certs.data());
  req.certs_len = static_cast<uint32_t>(certs.size());
  Attempt a;
  a.resp.assign(abi::kReportRespSize, 0);
  abi::SnpGuestRequestIoctl io;
  std::memset(&io, 0, sizeof(io));
  io.msg_version = abi::kMsgVersion;
  io.req_data = reinterpret_cast<uint64_t>(&req);
  io.resp_data = reinterpret_cast<uint64_t>(a.resp.data());
  a.err = options_.ioctl(abi::kSnpGetExtReport, &io);
  a.fw = abi::FwError(io.exitinfo2);
  a.vmm = abi::VmmError(io.exitinfo2);
  a.certs_len = req.certs_len;
  return a;
}

absl::Status SevGuestProvider::GrowCerts(size_t need, int round, std::vector<uint8_t>& certs) const {
  const std::string& dev = options_.device;
  if (round > 2) {
    return absl::InternalError(
        absl::StrCat(dev, ": the host keeps asking for a different certificate buffer size (last ", need, " bytes)"));
  }
  if (need == 0 || need % abi::kPageSize != 0 || need > kMaxCertsLen || need <= certs.size()) {
    return absl::InternalError(absl::StrCat(dev, ": the host asked for a certificate buffer of ", need, " bytes (have ",
                                            certs.size(), "; want a page multiple up to ", kMaxCertsLen, ")"));
  }
  certs.assign(need, 0);
  return absl::OkStatus();
}

absl::Status SevGuestProvider::Failure(const Attempt& a) const {
  std::string why = absl::StrFormat("%s: SNP_GET_EXT_REPORT failed: %s (fw_error 0x%x, vmm_error 0x%x)",
                                    options_.device, std::strerror(a.err), a.fw, a.vmm);
  if (a.err == ENOENT) return absl::NotFoundError(why + ": no SEV-SNP guest device: is this an SEV-SNP VM?");
  if (a.err == EACCES || a.err == EPERM) {
    return absl::PermissionDeniedError(why + " (the agent needs read-write access)");
  }
  return absl::InternalError(why);
}

absl::StatusOr<Report> SevGuestProvider::GetReport(const ReportData& report_data) {
  const std::string& dev = options_.device;
  std::vector<uint8_t> certs;  // empty: ask the host how much it needs
  absl::Duration backoff = options_.initial_backoff;
  int busy = 0;
  int size_rounds = 0;
  for (;;) {
    const Attempt a = Call(report_data, certs);
    if (a.err == 0) {
      Report out;
      ASSIGN_OR_RETURN(out.report, ParseReportResponse(a.resp.data(), a.resp.size(), dev));
      out.cert_table.assign(certs.begin(), certs.end());
      return out;
    }
    if (a.vmm == abi::kVmmErrInvalidLen) {
      RETURN_IF_ERROR(GrowCerts(a.certs_len, ++size_rounds, certs));
      continue;
    }
    if (a.vmm != abi::kVmmErrBusy) return Failure(a);
    if (++busy > options_.max_busy_retries) {
      return absl::UnavailableError(
          absl::StrCat(dev, ": the host is still busy after ", options_.max_busy_retries, " retries"));
    }
    options_.sleep(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace spirecvm::agent::snp
