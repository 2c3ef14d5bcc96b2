// OVMF firmware image as the SEV-SNP launch sees it: the GUIDed footer table that ends 32 bytes before the
// image's end, and the SEV metadata ("ASEV") it points to. Every offset read from the (untrusted) file is checked
// against the image's bounds. Layouts: edk2 OvmfPkg/ResetVector (OvmfSevMetadata.asm, ResetVectorVtf0.asm).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spirecvm::sevsnp::measure {

// SEV metadata section types (OvmfSevMetadata.asm).
enum class SectionType : uint32_t {
  kSnpSecMem = 1,
  kSnpSecrets = 2,
  kCpuid = 3,
  kSvsmCaa = 4,
  kSnpKernelHashes = 0x10,
};

struct MetadataSection {
  uint32_t gpa = 0;
  uint32_t size = 0;
  SectionType type = SectionType::kSnpSecMem;
};

class Ovmf {
 public:
  // Parses `image` (the whole .fd file). The image is mapped to end at 4 GiB, so it must be a non-empty multiple
  // of 4 KiB and at most 4 GiB. Fails when the footer table or the SEV metadata is malformed or absent.
  static absl::StatusOr<Ovmf> Parse(std::string image);

  const std::string& data() const { return data_; }
  uint64_t gpa() const { return (uint64_t{1} << 32) - data_.size(); }
  const std::vector<MetadataSection>& sections() const { return sections_; }
  bool HasSection(SectionType t) const;
  // The AP reset EIP (SEV_ES_RESET_BLOCK); NotFound when the table has no such entry.
  absl::StatusOr<uint32_t> SevEsResetEip() const;
  // The GPA of the kernel hashes table (SEV_HASH_TABLE_RV); NotFound when absent.
  absl::StatusOr<uint32_t> SevHashTableGpa() const;

 private:
  absl::Status ParseFooterTable();
  absl::Status ParseSevMetadata();
  absl::StatusOr<uint32_t> TableU32(const std::string& guid_le, const char* name) const;

  std::string data_;
  std::map<std::string, std::string> table_;  // key: GUID in its 16-byte little-endian form
  std::vector<MetadataSection> sections_;
};

// "96b582de-1fb2-45f7-baea-a366c55a082d" -> the 16 bytes as stored (first three fields little-endian).
std::string GuidLe(const char* text);

}  // namespace spirecvm::sevsnp::measure
