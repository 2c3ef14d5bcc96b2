#include "attestation/sevsnp/abi/report.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace spirecvm::sevsnp::abi {
namespace {

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

absl::Status CheckZero(const uint8_t* base, size_t from, size_t to_exclusive, absl::string_view what) {
  for (size_t i = from; i < to_exclusive; ++i) {
    if (base[i] != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("report %s (0x%03X..0x%03X) must be zero, byte at 0x%03X is 0x%02X", what, from,
                          to_exclusive - 1, i, base[i]));
    }
  }
  return absl::OkStatus();
}

template <size_t N>
void CopyOut(const uint8_t* base, size_t offset, std::array<uint8_t, N>& out) {
  std::memcpy(out.data(), base + offset, N);
}
template <size_t N>
void CopyIn(uint8_t* base, size_t offset, const std::array<uint8_t, N>& in) {
  std::memcpy(base + offset, in.data(), N);
}
void StoreLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void StoreLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

uint32_t LoadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
uint64_t LoadLe64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadLe32(p)) | static_cast<uint64_t>(LoadLe32(p + 4)) << 32;
}

absl::string_view ProductName(Product p) {
  switch (p) {
    case Product::kMilan:
      return "Milan";
    case Product::kGenoa:
      return "Genoa";
    case Product::kTurin:
      return "Turin";
    default:
      return "Unknown";
  }
}

absl::StatusOr<Product> ParseProduct(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  // Certificates carry "Milan-B0", "Genoa-B1", "Turin", KDS paths "Milan"; accept the stepping suffix.
  absl::string_view base = lower;
  if (auto dash = base.find('-'); dash != absl::string_view::npos) base = base.substr(0, dash);
  if (base == "milan") return Product::kMilan;
  if (base == "genoa") return Product::kGenoa;
  if (base == "turin") return Product::kTurin;
  return absl::InvalidArgumentError(absl::StrCat("unknown AMD product \"", name, "\", want Milan, Genoa or Turin"));
}

Product ProductFromCpuid(uint8_t family, uint8_t model) {
  if (family == 0x19) {
    if (model <= 0x0F) return Product::kMilan;
    if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)) return Product::kGenoa;
    return Product::kUnknown;
  }
  if (family == 0x1A) return Product::kTurin;
  return Product::kUnknown;
}

absl::string_view SigningKeyName(SigningKey k) { return k == SigningKey::kVlek ? "VLEK" : "VCEK"; }

Tcb DecodeTcb(uint64_t raw, Product product) {
  auto b = [raw](int i) { return static_cast<uint8_t>(raw >> (8 * i)); };
  Tcb t;
  if (product == Product::kTurin) {
    t.fmc = b(0);
    t.bl = b(1);
    t.tee = b(2);
    t.snp = b(3);
  } else {
    t.bl = b(0);
    t.tee = b(1);
    t.snp = b(6);
  }
  t.ucode = b(7);
  return t;
}

uint64_t EncodeTcb(const Tcb& t, Product product) {
  auto at = [](uint8_t v, int i) { return static_cast<uint64_t>(v) << (8 * i); };
  if (product == Product::kTurin) {
    return at(t.fmc, 0) | at(t.bl, 1) | at(t.tee, 2) | at(t.snp, 3) | at(t.ucode, 7);
  }
  return at(t.bl, 0) | at(t.tee, 1) | at(t.snp, 6) | at(t.ucode, 7);
}

std::string TcbString(const Tcb& t, Product product) {
  std::string s = absl::StrCat("bl=", t.bl, " tee=", t.tee, " snp=", t.snp, " ucode=", t.ucode);
  if (product == Product::kTurin) absl::StrAppend(&s, " fmc=", t.fmc);
  return s;
}

bool TcbAtLeast(const Tcb& a, const Tcb& b, Product product, std::string* first_lower) {
  auto fail = [first_lower](const char* name) {
    if (first_lower != nullptr) *first_lower = name;
    return false;
  };
  if (product == Product::kTurin && a.fmc < b.fmc) return fail("fmc");
  if (a.bl < b.bl) return fail("bl");
  if (a.tee < b.tee) return fail("tee");
  if (a.snp < b.snp) return fail("snp");
  if (a.ucode < b.ucode) return fail("ucode");
  return true;
}

bool Report::chip_id_is_zero() const { return AllZero(chip_id.data(), chip_id.size()); }

absl::StatusOr<Report> ParseReport(absl::string_view bytes) {
  return ParseReport(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

namespace {

absl::Status CheckReportSize(absl::Span<const uint8_t> bytes) {
  if (bytes.size() == kReportSize) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("report is %d bytes, want exactly %d (0x4A0)", bytes.size(), kReportSize));
}

absl::Status CheckSignerInfo(const Report& r) {
  if (r.mask_chip_key()) {
    return absl::InvalidArgumentError(
        "report field MASK_CHIP_KEY is 1: the report is not signed by a chip key, want 0");
  }
  if (r.signing_key_raw() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "report field SIGNING_KEY is ", r.signing_key_raw(),
        r.signing_key_raw() == 7 ? " (none: report is unsigned)" : " (reserved)", ", want 0 (VCEK) or 1 (VLEK)"));
  }
  if ((r.signer_info >> 5) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("report field at 0x048 is 0x%08x: bits 31:5 are reserved and must be zero", r.signer_info));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseReportHeader(absl::Span<const uint8_t> bytes, Report& r) {
  RETURN_IF_ERROR(CheckReportSize(bytes));
  const uint8_t* b = bytes.data();
  r.version = LoadLe32(b + off::kVersion);
  if (r.version < 2 || r.version > 5) {
    return absl::InvalidArgumentError(absl::StrCat("report field VERSION is ", r.version, ", want 2..5"));
  }
  r.guest_svn = LoadLe32(b + off::kGuestSvn);
  r.policy = LoadLe64(b + off::kPolicy);
  if ((r.policy & policy_bit::kReserved17) == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("report field POLICY is 0x%x: reserved bit 17 must be 1", r.policy));
  }
  if ((r.policy & policy_bit::kMustBeZeroMask) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("report field POLICY is 0x%x: bits 63:26 must be zero", r.policy));
  }
  CopyOut(b, off::kFamilyId, r.family_id);
  CopyOut(b, off::kImageId, r.image_id);
  r.vmpl = LoadLe32(b + off::kVmpl);
  r.signature_algo = LoadLe32(b + off::kSignatureAlgo);
  if (r.signature_algo != kSignatureAlgoEcdsaP384Sha384) {
    return absl::InvalidArgumentError(
        absl::StrCat("report field SIGNATURE_ALGO is ", r.signature_algo, ", want 1 (ECDSA P-384 SHA-384)"));
  }
  r.current_tcb = LoadLe64(b + off::kCurrentTcb);
  r.platform_info = LoadLe64(b + off::kPlatformInfo);
  r.signer_info = LoadLe32(b + off::kSignerInfo);
  RETURN_IF_ERROR(CheckSignerInfo(r));
  return CheckZero(b, off::kReserved04C, off::kReportData, "reserved field");
}

absl::Status ParseReportIdentity(absl::Span<const uint8_t> bytes, Report& r) {
  RETURN_IF_ERROR(CheckReportSize(bytes));
  const uint8_t* b = bytes.data();
  CopyOut(b, off::kReportData, r.report_data);
  CopyOut(b, off::kMeasurement, r.measurement);
  CopyOut(b, off::kHostData, r.host_data);
  CopyOut(b, off::kIdKeyDigest, r.id_key_digest);
  CopyOut(b, off::kAuthorKeyDigest, r.author_key_digest);
  CopyOut(b, off::kReportId, r.report_id);
  CopyOut(b, off::kReportIdMa, r.report_id_ma);
  r.reported_tcb = LoadLe64(b + off::kReportedTcb);
  if (r.version >= 3) {
    r.cpuid_fam_id = b[off::kCpuidFamId];
    r.cpuid_mod_id = b[off::kCpuidModId];
    r.cpuid_step = b[off::kCpuidStep];
    RETURN_IF_ERROR(CheckZero(b, off::kReserved18B, off::kChipId, "reserved field"));
  } else {
    RETURN_IF_ERROR(CheckZero(b, off::kCpuidFamId, off::kChipId, "reserved field (v2)"));
  }
  CopyOut(b, off::kChipId, r.chip_id);
  return absl::OkStatus();
}

absl::Status ParseReportTcbs(absl::Span<const uint8_t> bytes, Report& r) {
  RETURN_IF_ERROR(CheckReportSize(bytes));
  const uint8_t* b = bytes.data();
  r.committed_tcb = LoadLe64(b + off::kCommittedTcb);
  r.current_build = b[off::kCurrentBuild];
  r.current_minor = b[off::kCurrentMinor];
  r.current_major = b[off::kCurrentMajor];
  RETURN_IF_ERROR(CheckZero(b, off::kReserved1EB, off::kReserved1EB + 1, "reserved field"));
  r.committed_build = b[off::kCommittedBuild];
  r.committed_minor = b[off::kCommittedMinor];
  r.committed_major = b[off::kCommittedMajor];
  RETURN_IF_ERROR(CheckZero(b, off::kReserved1EF, off::kReserved1EF + 1, "reserved field"));
  r.launch_tcb = LoadLe64(b + off::kLaunchTcb);
  if (r.version < 4) return CheckZero(b, off::kLaunchMitVector, kSignedSize, "reserved field");
  // v4/v5 (Turin firmware) carry the mitigation vectors; older versions keep the area reserved.
  r.launch_mit_vector = LoadLe64(b + off::kLaunchMitVector);
  r.current_mit_vector = LoadLe64(b + off::kCurrentMitVector);
  return CheckZero(b, off::kReserved208, kSignedSize, "reserved field");
}

absl::Status ParseReportSignature(absl::Span<const uint8_t> bytes, Report& r) {
  RETURN_IF_ERROR(CheckReportSize(bytes));
  const uint8_t* b = bytes.data();
  CopyOut(b, off::kSigR, r.signature_r);
  CopyOut(b, off::kSigS, r.signature_s);
  if (!AllZero(r.signature_r.data() + kP384ComponentSize, kSigComponentSize - kP384ComponentSize)) {
    return absl::InvalidArgumentError(
        "report SIGNATURE R has non-zero padding past 48 bytes (0x2D0..0x2E7), want zero");
  }
  if (!AllZero(r.signature_s.data() + kP384ComponentSize, kSigComponentSize - kP384ComponentSize)) {
    return absl::InvalidArgumentError(
        "report SIGNATURE S has non-zero padding past 48 bytes (0x318..0x32F), want zero");
  }
  return CheckZero(b, off::kSigReserved, kReportSize, "SIGNATURE reserved area");
}

absl::StatusOr<Report> ParseReport(absl::Span<const uint8_t> bytes) {
  Report r;
  RETURN_IF_ERROR(ParseReportHeader(bytes, r));
  RETURN_IF_ERROR(ParseReportIdentity(bytes, r));
  RETURN_IF_ERROR(ParseReportTcbs(bytes, r));
  RETURN_IF_ERROR(ParseReportSignature(bytes, r));
  return r;
}

std::string SerializeReport(const Report& r) {
  std::string out(kReportSize, '\0');
  uint8_t* b = reinterpret_cast<uint8_t*>(out.data());
  StoreLe32(b + off::kVersion, r.version);
  StoreLe32(b + off::kGuestSvn, r.guest_svn);
  StoreLe64(b + off::kPolicy, r.policy);
  CopyIn(b, off::kFamilyId, r.family_id);
  CopyIn(b, off::kImageId, r.image_id);
  StoreLe32(b + off::kVmpl, r.vmpl);
  StoreLe32(b + off::kSignatureAlgo, r.signature_algo);
  StoreLe64(b + off::kCurrentTcb, r.current_tcb);
  StoreLe64(b + off::kPlatformInfo, r.platform_info);
  StoreLe32(b + off::kSignerInfo, r.signer_info);
  CopyIn(b, off::kReportData, r.report_data);
  CopyIn(b, off::kMeasurement, r.measurement);
  CopyIn(b, off::kHostData, r.host_data);
  CopyIn(b, off::kIdKeyDigest, r.id_key_digest);
  CopyIn(b, off::kAuthorKeyDigest, r.author_key_digest);
  CopyIn(b, off::kReportId, r.report_id);
  CopyIn(b, off::kReportIdMa, r.report_id_ma);
  StoreLe64(b + off::kReportedTcb, r.reported_tcb);
  if (r.version >= 3) {
    b[off::kCpuidFamId] = r.cpuid_fam_id;
    b[off::kCpuidModId] = r.cpuid_mod_id;
    b[off::kCpuidStep] = r.cpuid_step;
  }
  CopyIn(b, off::kChipId, r.chip_id);
  StoreLe64(b + off::kCommittedTcb, r.committed_tcb);
  b[off::kCurrentBuild] = r.current_build;
  b[off::kCurrentMinor] = r.current_minor;
  b[off::kCurrentMajor] = r.current_major;
  b[off::kCommittedBuild] = r.committed_build;
  b[off::kCommittedMinor] = r.committed_minor;
  b[off::kCommittedMajor] = r.committed_major;
  StoreLe64(b + off::kLaunchTcb, r.launch_tcb);
  if (r.version >= 4) {
    StoreLe64(b + off::kLaunchMitVector, r.launch_mit_vector);
    StoreLe64(b + off::kCurrentMitVector, r.current_mit_vector);
  }
  CopyIn(b, off::kSigR, r.signature_r);
  CopyIn(b, off::kSigS, r.signature_s);
  return out;
}

}  // namespace spirecvm::sevsnp::abi
