// SEV-SNP attestation report ABI: bytes <-> struct, with every size and must-be-zero check.
// No trust decisions here: a parsed report is only well-formed, not authentic. Depends only on absl
// (so the fuzzers can build it directly).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace spirecvm::sevsnp::abi {

inline constexpr size_t kReportSize = 0x4A0;  // 1184
inline constexpr size_t kSignedSize = 0x2A0;  // bytes 0..0x29F are signed
inline constexpr size_t kSignatureOffset = 0x2A0;
inline constexpr size_t kSigComponentSize = 72;  // R and S, little-endian, zero-padded
inline constexpr size_t kP384ComponentSize = 48;
inline constexpr uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

// Field offsets (AMD SEV-SNP ABI, Table "ATTESTATION_REPORT").
namespace off {
inline constexpr size_t kVersion = 0x000, kGuestSvn = 0x004, kPolicy = 0x008, kFamilyId = 0x010, kImageId = 0x020,
                        kVmpl = 0x030, kSignatureAlgo = 0x034, kCurrentTcb = 0x038, kPlatformInfo = 0x040,
                        kSignerInfo = 0x048, kReserved04C = 0x04C, kReportData = 0x050, kMeasurement = 0x090,
                        kHostData = 0x0C0, kIdKeyDigest = 0x0E0, kAuthorKeyDigest = 0x110, kReportId = 0x140,
                        kReportIdMa = 0x160, kReportedTcb = 0x180, kCpuidFamId = 0x188, kCpuidModId = 0x189,
                        kCpuidStep = 0x18A, kReserved18B = 0x18B, kChipId = 0x1A0, kCommittedTcb = 0x1E0,
                        kCurrentBuild = 0x1E8, kCurrentMinor = 0x1E9, kCurrentMajor = 0x1EA, kReserved1EB = 0x1EB,
                        kCommittedBuild = 0x1EC, kCommittedMinor = 0x1ED, kCommittedMajor = 0x1EE, kReserved1EF = 0x1EF,
                        kLaunchTcb = 0x1F0, kLaunchMitVector = 0x1F8, kCurrentMitVector = 0x200, kReserved208 = 0x208,
                        kSigR = 0x2A0, kSigS = 0x2E8, kSigReserved = 0x330;
}  // namespace off

// POLICY bits.
namespace policy_bit {
inline constexpr uint64_t kSmt = 1ull << 16, kReserved17 = 1ull << 17, kMigrateMa = 1ull << 18, kDebug = 1ull << 19,
                          kSingleSocket = 1ull << 20, kCxlAllow = 1ull << 21, kMemAes256Xts = 1ull << 22,
                          kRaplDis = 1ull << 23, kCiphertextHiding = 1ull << 24, kPageSwapDisable = 1ull << 25;
inline constexpr uint64_t kMustBeZeroMask = ~((1ull << 26) - 1);  // bits 63:26
}  // namespace policy_bit

// PLATFORM_INFO bits.
namespace platform_bit {
inline constexpr uint64_t kSmtEn = 1ull << 0, kTsmeEn = 1ull << 1, kEccEn = 1ull << 2, kRaplDis = 1ull << 3,
                          kCiphertextHidingEn = 1ull << 4, kAliasCheckComplete = 1ull << 5, kTioEn = 1ull << 7;
}  // namespace platform_bit

enum class Product { kUnknown = 0, kMilan, kGenoa, kTurin };
// "Milan", "Genoa", "Turin" (the KDS spelling); "Unknown" otherwise.
absl::string_view ProductName(Product p);
// Case-insensitive; also accepts certificate productName values such as "Milan-B0" or "Genoa-B1".
absl::StatusOr<Product> ParseProduct(absl::string_view name);
// Product from the CPUID fields of a v3+ report; kUnknown when not recognised.
Product ProductFromCpuid(uint8_t family, uint8_t model);

// Which key signed the report (bits 4:2 of the word at 0x48).
enum class SigningKey : uint8_t { kVcek = 0, kVlek = 1 };
absl::string_view SigningKeyName(SigningKey k);  // "VCEK" / "VLEK"

// TCB_VERSION split into components. The byte layout differs per product (Turin adds FMC and moves
// the other components), so raw values are never compared as integers.
struct Tcb {
  uint8_t fmc = 0;  // Turin only
  uint8_t bl = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t ucode = 0;
  bool operator==(const Tcb&) const = default;
};
Tcb DecodeTcb(uint64_t raw, Product product);
uint64_t EncodeTcb(const Tcb& tcb, Product product);
// "bl=2 tee=0 snp=5 ucode=68" (+ " fmc=N" for Turin).
std::string TcbString(const Tcb& tcb, Product product);
// Component-wise a >= b (fmc only compared for Turin). Fills `first_lower` with the name of the first
// component of `a` that is lower, when non-null.
bool TcbAtLeast(const Tcb& a, const Tcb& b, Product product, std::string* first_lower = nullptr);

struct Report {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  uint64_t policy = 0;
  std::array<uint8_t, 16> family_id{};
  std::array<uint8_t, 16> image_id{};
  uint32_t vmpl = 0;
  uint32_t signature_algo = kSignatureAlgoEcdsaP384Sha384;
  uint64_t current_tcb = 0;
  uint64_t platform_info = 0;
  uint32_t signer_info = 0;  // bit0 AUTHOR_KEY_EN, bit1 MASK_CHIP_KEY, bits4:2 SIGNING_KEY
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 48> measurement{};
  std::array<uint8_t, 32> host_data{};
  std::array<uint8_t, 48> id_key_digest{};
  std::array<uint8_t, 48> author_key_digest{};
  std::array<uint8_t, 32> report_id{};
  std::array<uint8_t, 32> report_id_ma{};
  uint64_t reported_tcb = 0;
  uint8_t cpuid_fam_id = 0;  // v3+
  uint8_t cpuid_mod_id = 0;  // v3+
  uint8_t cpuid_step = 0;    // v3+
  std::array<uint8_t, 64> chip_id{};
  uint64_t committed_tcb = 0;
  uint8_t current_build = 0, current_minor = 0, current_major = 0;
  uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  uint64_t launch_tcb = 0;
  uint64_t launch_mit_vector = 0;                        // v5 (0 otherwise)
  uint64_t current_mit_vector = 0;                       // v5 (0 otherwise)
  std::array<uint8_t, kSigComponentSize> signature_r{};  // little-endian
  std::array<uint8_t, kSigComponentSize> signature_s{};  // little-endian

  bool author_key_en() const { return (signer_info & 1u) != 0; }
  bool mask_chip_key() const { return (signer_info & 2u) != 0; }
  uint32_t signing_key_raw() const { return (signer_info >> 2) & 7u; }
  bool chip_id_is_zero() const;
  // Product from CPUID for v3+ reports; kUnknown for v2 (the caller supplies a fallback).
  Product product() const { return version >= 3 ? ProductFromCpuid(cpuid_fam_id, cpuid_mod_id) : Product::kUnknown; }
};

// Parses exactly kReportSize bytes. Rejects: wrong size, VERSION outside 2..5, SIGNATURE_ALGO != 1,
// MASK_CHIP_KEY set, SIGNING_KEY other than 0 (VCEK) or 1 (VLEK), non-zero reserved fields
// (per version), POLICY bit 17 clear or bits 63:26 set, signature components with non-zero bytes past
// 48, and a non-zero signature reserved area. Errors are InvalidArgument naming the field.
absl::StatusOr<Report> ParseReport(absl::Span<const uint8_t> bytes);
absl::StatusOr<Report> ParseReport(absl::string_view bytes);

// ParseReport's steps, in order, each over one area of the kReportSize `bytes` (refused otherwise)
// and filling its fields of `report`; the later steps read `report.version`, set by the header.
// 0x000..0x04F: VERSION, GUEST_SVN, POLICY, IDs, VMPL, SIGNATURE_ALGO, CURRENT_TCB, PLATFORM_INFO,
// signer info and the reserved word.
absl::Status ParseReportHeader(absl::Span<const uint8_t> bytes, Report& report);
// 0x050..0x1DF: REPORT_DATA, MEASUREMENT, HOST_DATA, key digests, report IDs, REPORTED_TCB, CPUID
// (v3+; reserved before) and CHIP_ID.
absl::Status ParseReportIdentity(absl::Span<const uint8_t> bytes, Report& report);
// 0x1E0..0x29F: COMMITTED_TCB, firmware versions, LAUNCH_TCB, mitigation vectors (v4+).
absl::Status ParseReportTcbs(absl::Span<const uint8_t> bytes, Report& report);
// 0x2A0..0x49F: SIGNATURE R and S (zero past 48 bytes) and the reserved area.
absl::Status ParseReportSignature(absl::Span<const uint8_t> bytes, Report& report);

// Serialises a report to exactly kReportSize bytes (reserved areas zero). Performs no validation, so
// the test signer can build deliberately malformed reports.
std::string SerializeReport(const Report& report);

// Little-endian helpers (bounds checked by the caller).
uint32_t LoadLe32(const uint8_t* p);
uint64_t LoadLe64(const uint8_t* p);

}  // namespace spirecvm::sevsnp::abi
