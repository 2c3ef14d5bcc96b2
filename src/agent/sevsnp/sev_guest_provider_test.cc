#include "agent/sevsnp/sev_guest_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#if __has_include(<linux/sev-guest.h>)
#include <linux/ioctl.h>
#include <linux/sev-guest.h>
#define SPIRECVM_HAVE_KERNEL_SEV_GUEST_H 1
#endif

namespace spirecvm::agent::snp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

#ifdef SPIRECVM_HAVE_KERNEL_SEV_GUEST_H
// Our restatement of the ABI against the kernel's own header, where the build machine has it.
static_assert(sizeof(abi::SnpReportReq) == sizeof(struct snp_report_req));
static_assert(offsetof(abi::SnpReportReq, vmpl) == offsetof(struct snp_report_req, vmpl));
static_assert(offsetof(abi::SnpReportReq, rsvd) == offsetof(struct snp_report_req, rsvd));
static_assert(sizeof(abi::SnpExtReportReq) == sizeof(struct snp_ext_report_req));
static_assert(offsetof(abi::SnpExtReportReq, certs_address) == offsetof(struct snp_ext_report_req, certs_address));
static_assert(offsetof(abi::SnpExtReportReq, certs_len) == offsetof(struct snp_ext_report_req, certs_len));
static_assert(sizeof(abi::SnpGuestRequestIoctl) == sizeof(struct snp_guest_request_ioctl));
static_assert(offsetof(abi::SnpGuestRequestIoctl, req_data) == offsetof(struct snp_guest_request_ioctl, req_data));
static_assert(offsetof(abi::SnpGuestRequestIoctl, resp_data) == offsetof(struct snp_guest_request_ioctl, resp_data));
static_assert(offsetof(abi::SnpGuestRequestIoctl, exitinfo2) == offsetof(struct snp_guest_request_ioctl, exitinfo2));
static_assert(abi::kReportRespSize == sizeof(struct snp_report_resp));
static_assert(abi::kVmmErrInvalidLen == SNP_GUEST_VMM_ERR_INVALID_LEN);
static_assert(abi::kVmmErrBusy == SNP_GUEST_VMM_ERR_BUSY);
TEST(SevGuestAbi, MatchesKernelIoctlNumbers) {
  EXPECT_EQ(abi::kSnpGetReport, static_cast<unsigned long>(SNP_GET_REPORT));
  EXPECT_EQ(abi::kSnpGetExtReport, static_cast<unsigned long>(SNP_GET_EXT_REPORT));
}
#endif

TEST(SevGuestAbi, LayoutsArePinned) {
  // Also enforced by static_asserts in the header; restated here so a failure names the field.
  EXPECT_EQ(sizeof(abi::SnpGuestRequestIoctl), 32u);
  EXPECT_EQ(sizeof(abi::SnpReportReq), 96u);
  EXPECT_EQ(sizeof(abi::SnpExtReportReq), 112u);
  EXPECT_EQ(abi::kSnpGetExtReport, 0xC0205302ul);
  EXPECT_EQ(abi::kSnpGetReport, 0xC0205300ul);
  EXPECT_EQ(abi::FwError(0x0000000200000016ull), 0x16u);
  EXPECT_EQ(abi::VmmError(0x0000000200000016ull), 2u);
}

void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// A host behind the ioctl: checks the request the way the kernel does and answers like it, reading and writing
// through the addresses in the request, so the structure layouts and pointer plumbing are exercised.
class FakeHost {
 public:
  std::string certs;    // what the host has; empty: no certificates
  int busy_calls = 0;   // answer BUSY this many times first
  int fail_errno = 0;   // answer this errno (with fw_error 0x16) instead
  uint32_t status = 0;  // MSG_REPORT_RSP status
  uint32_t report_size = 1184;
  bool lie_about_size = false;  // INVALID_LEN forever

  std::vector<uint32_t> certs_lens_seen;
  std::vector<uint32_t> vmpls_seen;
  std::string user_data_seen;
  int calls = 0;

  int Ioctl(unsigned long request, abi::SnpGuestRequestIoctl* io) {
    ++calls;
    EXPECT_EQ(request, abi::kSnpGetExtReport);
    EXPECT_EQ(io->msg_version, 1);
    auto* req = reinterpret_cast<abi::SnpExtReportReq*>(io->req_data);
    auto* resp = reinterpret_cast<uint8_t*>(io->resp_data);
    for (uint8_t b : req->data.rsvd) EXPECT_EQ(b, 0);
    certs_lens_seen.push_back(req->certs_len);
    vmpls_seen.push_back(req->data.vmpl);
    user_data_seen.assign(reinterpret_cast<const char*>(req->data.user_data), 64);
    if (fail_errno != 0) {
      io->exitinfo2 = 0x16;
      return fail_errno;
    }
    if (busy_calls > 0) {
      --busy_calls;
      io->exitinfo2 = uint64_t{abi::kVmmErrBusy} << 32;
      return EIO;
    }
    const uint32_t need = static_cast<uint32_t>((certs.size() + 4095) / 4096 * 4096);
    if (lie_about_size || (!certs.empty() && req->certs_len < need)) {
      req->certs_len = lie_about_size ? req->certs_len + 4096 : need;
      io->exitinfo2 = uint64_t{abi::kVmmErrInvalidLen} << 32;
      return EIO;
    }
    if (!certs.empty()) {
      EXPECT_NE(req->certs_address, 0u);
      std::memset(reinterpret_cast<void*>(req->certs_address), 0, req->certs_len);
      std::memcpy(reinterpret_cast<void*>(req->certs_address), certs.data(), certs.size());
    }
    PutLe32(resp + 0, status);
    PutLe32(resp + 4, report_size);
    std::memset(resp + 0x20, 0xAB, 1184);
    std::memcpy(resp + 0x20 + 0x50, req->data.user_data, 64);  // REPORT_DATA
    io->exitinfo2 = 0;
    return 0;
  }
};

class SevGuestProviderTest : public ::testing::Test {
 protected:
  SevGuestProvider Make(FakeHost& host) {
    SevGuestOptions o;
    o.device = "/dev/fake-sev-guest";
    o.sleep = [this](absl::Duration d) { sleeps_.push_back(d); };
    o.ioctl = [&host](unsigned long r, abi::SnpGuestRequestIoctl* io) { return host.Ioctl(r, io); };
    return SevGuestProvider(std::move(o));
  }
  static ReportData Rd() {
    ReportData rd{};
    for (size_t i = 0; i < rd.size(); ++i) rd[i] = static_cast<uint8_t>(0xC0 ^ i);
    return rd;
  }
  std::vector<absl::Duration> sleeps_;
};

TEST_F(SevGuestProviderTest, NoCertificatesOneCall) {
  FakeHost host;
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(host.calls, 1);
  EXPECT_THAT(host.certs_lens_seen, ElementsAre(0u));
  EXPECT_THAT(host.vmpls_seen, ElementsAre(0u));
  ASSERT_EQ(r->report.size(), 1184u);
  EXPECT_EQ(r->report.substr(0x50, 64), std::string(reinterpret_cast<const char*>(Rd().data()), 64));
  EXPECT_EQ(r->cert_table, "");
}

TEST_F(SevGuestProviderTest, NegotiatesTheCertificateBufferSize) {
  FakeHost host;
  host.certs = std::string(5000, 'C');  // needs two pages
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(host.certs_lens_seen, ElementsAre(0u, 8192u));
  ASSERT_EQ(r->cert_table.size(), 8192u);
  EXPECT_EQ(r->cert_table.substr(0, 5000), host.certs);
  EXPECT_EQ(r->report.substr(0x50, 64), std::string(reinterpret_cast<const char*>(Rd().data()), 64));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(SevGuestProviderTest, BusyRetriesWithExponentialBackoff) {
  FakeHost host;
  host.busy_calls = 3;
  host.certs = "x";
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(50), absl::Milliseconds(100), absl::Milliseconds(200)));
  EXPECT_THAT(host.certs_lens_seen, ElementsAre(0u, 0u, 0u, 0u, 4096u));
}

TEST_F(SevGuestProviderTest, BusyForeverGivesUp) {
  FakeHost host;
  host.busy_calls = 1000;
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("still busy after 8 retries"));
  EXPECT_EQ(sleeps_.size(), 8u);
  EXPECT_EQ(sleeps_.back(), absl::Seconds(2));  // capped
}

TEST_F(SevGuestProviderTest, HostThatKeepsChangingTheSizeIsRefused) {
  FakeHost host;
  host.lie_about_size = true;
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("certificate buffer"));
  EXPECT_LE(host.calls, 3);
}

TEST_F(SevGuestProviderTest, OversizedCertificateRequestIsRefused) {
  FakeHost host;
  host.certs = std::string(kMaxCertsLen + 1, 'C');
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("page multiple up to"));
}

TEST_F(SevGuestProviderTest, FirmwareAndDriverErrorsNameTheDevice) {
  FakeHost host;
  host.fail_errno = EINVAL;
  auto p = Make(host);
  auto r = p.GetReport(Rd());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/dev/fake-sev-guest: SNP_GET_EXT_REPORT failed"));
  EXPECT_THAT(r.status().message(), HasSubstr("fw_error 0x16"));

  FakeHost refused;
  refused.status = 0x16;
  auto p2 = Make(refused);
  r = p2.GetReport(Rd());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("status 0x16"));

  FakeHost wrong_size;
  wrong_size.report_size = 4000;
  auto p3 = Make(wrong_size);
  r = p3.GetReport(Rd());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("report of 4000 bytes"));
}

TEST(SevGuestProvider, MissingDeviceSaysWhy) {
  SevGuestOptions o;
  o.device = "/nonexistent/sev-guest";
  SevGuestProvider p(o);
  auto r = p.GetReport(ReportData{});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("no SEV-SNP guest device"));
}

}  // namespace
}  // namespace spirecvm::agent::snp
