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

absl::StatusOr<Report> SevGuestProvider::GetReport(const ReportData& report_data) {
  const std::string& dev = options_.device;
  std::vector<uint8_t> certs;  // empty: ask the host how much it needs
  std::vector<uint8_t> resp(abi::kReportRespSize);
  absl::Duration backoff = options_.initial_backoff;
  int busy = 0;
  int size_rounds = 0;
  for (;;) {
    abi::SnpExtReportReq req;
    std::memset(&req, 0, sizeof(req));
    std::memcpy(req.data.user_data, report_data.data(), report_data.size());
    req.data.vmpl = options_.vmpl;
    req.certs_address = certs.empty() ? 0 : reinterpret_cast<uint64_t>(certs.data());
    req.certs_len = static_cast<uint32_t>(certs.size());
    std::fill(resp.begin(), resp.end(), 0);
    abi::SnpGuestRequestIoctl io;
    std::memset(&io, 0, sizeof(io));
    io.msg_version = abi::kMsgVersion;
    io.req_data = reinterpret_cast<uint64_t>(&req);
    io.resp_data = reinterpret_cast<uint64_t>(resp.data());

    const int err = options_.ioctl(abi::kSnpGetExtReport, &io);
    const uint32_t fw = abi::FwError(io.exitinfo2);
    const uint32_t vmm = abi::VmmError(io.exitinfo2);
    if (err == 0) {
      absl::StatusOr<std::string> report = ParseReportResponse(resp.data(), resp.size(), dev);
      if (!report.ok()) return report.status();
      Report out;
      out.report = *std::move(report);
      out.cert_table.assign(certs.begin(), certs.end());
      return out;
    }
    if (vmm == abi::kVmmErrInvalidLen) {
      const size_t need = req.certs_len;
      if (++size_rounds > 2) {
        return absl::InternalError(absl::StrCat(dev,
                                                ": the host keeps asking for a different certificate buffer "
                                                "size (last ",
                                                need, " bytes)"));
      }
      if (need == 0 || need % abi::kPageSize != 0 || need > kMaxCertsLen || need <= certs.size()) {
        return absl::InternalError(absl::StrCat(dev, ": the host asked for a certificate buffer of ", need,
                                                " bytes (have ", certs.size(), "; want a page multiple up to ",
                                                kMaxCertsLen, ")"));
      }
      certs.assign(need, 0);
      continue;
    }
    if (vmm == abi::kVmmErrBusy) {
      if (++busy > options_.max_busy_retries) {
        return absl::UnavailableError(
            absl::StrCat(dev, ": the host is still busy after ", options_.max_busy_retries, " retries"));
      }
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    std::string why = absl::StrFormat("%s: SNP_GET_EXT_REPORT failed: %s (fw_error 0x%x, vmm_error 0x%x)", dev,
                                      std::strerror(err), fw, vmm);
    if (err == ENOENT) return absl::NotFoundError(why + ": no SEV-SNP guest device: is this an SEV-SNP VM?");
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(why + " (the agent needs read-write access)");
    return absl::InternalError(why);
  }
}

}  // namespace spirecvm::agent::snp
