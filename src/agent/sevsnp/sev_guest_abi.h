// The /dev/sev-guest ioctl ABI (Linux include/uapi/linux/sev-guest.h), restated with explicit padding and
// fixed-width fields so the layout is pinned by static_asserts rather than by whatever headers the build
// machine has. When the build machine does have the kernel header, the layouts are also checked against it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spirecvm::agent::snp::abi {

// _IOWR('S', nr, struct snp_guest_request_ioctl): dir=3 (read|write) << 30, size=32 << 16, type 'S' << 8, nr.
inline constexpr unsigned long kIocReadWrite = 3;
constexpr unsigned long IoWr(unsigned long type, unsigned long nr, unsigned long size) {
  return (kIocReadWrite << 30) | (size << 16) | (type << 8) | nr;
}

// struct snp_report_req
struct SnpReportReq {
  uint8_t user_data[64];  // becomes REPORT_DATA
  uint32_t vmpl;
  uint8_t rsvd[28];  // must be zero
};

// struct snp_ext_report_req
struct SnpExtReportReq {
  SnpReportReq data;
  uint64_t certs_address;  // user address of the certificate buffer (0 with certs_len 0: ask for the size)
  uint32_t certs_len;      // in: buffer size (page multiple); out on INVALID_LEN: the size needed
  uint32_t pad;            // the kernel struct's tail padding
};

// struct snp_guest_request_ioctl
struct SnpGuestRequestIoctl {
  uint8_t msg_version;  // must be 1
  uint8_t pad[7];
  uint64_t req_data;   // user address of SnpReportReq / SnpExtReportReq
  uint64_t resp_data;  // user address of the 4000-byte response
  uint64_t exitinfo2;  // bits 31:0 firmware error, bits 63:32 VMM error
};

inline constexpr uint8_t kMsgVersion = 1;
inline constexpr size_t kReportRespSize = 4000;  // struct snp_report_resp
// MSG_REPORT_RSP inside the response buffer (SEV-SNP ABI): u32 status, u32 report_size, 24 reserved, report.
inline constexpr size_t kRespStatusOffset = 0x0;
inline constexpr size_t kRespReportSizeOffset = 0x4;
inline constexpr size_t kRespReportOffset = 0x20;

inline constexpr unsigned long kSnpGetReport = IoWr('S', 0x0, sizeof(SnpGuestRequestIoctl));
inline constexpr unsigned long kSnpGetExtReport = IoWr('S', 0x2, sizeof(SnpGuestRequestIoctl));

inline constexpr uint32_t kVmmErrInvalidLen = 1;  // certs_len too small; certs_len now holds the size needed
inline constexpr uint32_t kVmmErrBusy = 2;        // the host is busy: retry later
inline constexpr size_t kPageSize = 4096;

inline uint32_t FwError(uint64_t exitinfo2) { return static_cast<uint32_t>(exitinfo2 & 0xFFFFFFFFu); }
inline uint32_t VmmError(uint64_t exitinfo2) { return static_cast<uint32_t>(exitinfo2 >> 32); }

static_assert(sizeof(SnpReportReq) == 96);
static_assert(offsetof(SnpReportReq, user_data) == 0);
static_assert(offsetof(SnpReportReq, vmpl) == 64);
static_assert(offsetof(SnpReportReq, rsvd) == 68);
static_assert(sizeof(SnpExtReportReq) == 112);
static_assert(offsetof(SnpExtReportReq, data) == 0);
static_assert(offsetof(SnpExtReportReq, certs_address) == 96);
static_assert(offsetof(SnpExtReportReq, certs_len) == 104);
static_assert(sizeof(SnpGuestRequestIoctl) == 32);
static_assert(offsetof(SnpGuestRequestIoctl, msg_version) == 0);
static_assert(offsetof(SnpGuestRequestIoctl, req_data) == 8);
static_assert(offsetof(SnpGuestRequestIoctl, resp_data) == 16);
static_assert(offsetof(SnpGuestRequestIoctl, exitinfo2) == 24);
static_assert(kSnpGetReport == 0xC0205300ul);
static_assert(kSnpGetExtReport == 0xC0205302ul);

}  // namespace spirecvm::agent::snp::abi
