#include "attestation/sevsnp/measure/ovmf.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace spirecvm::sevsnp::measure {
namespace {

constexpr char kFooterGuid[] = "96b582de-1fb2-45f7-baea-a366c55a082d";
constexpr char kSevHashTableRvGuid[] = "7255371f-3a3b-4b04-927b-1da6efa8d454";
constexpr char kSevEsResetBlockGuid[] = "00f771de-1a7e-4fcb-890e-68c77e2fb44e";
constexpr char kSevMetadataGuid[] = "dc886566-984a-4798-a75e-5585a7bf67cc";
constexpr size_t kEntryHeaderSize = 18;  // u16 size + 16-byte GUID, after the entry's data
constexpr size_t kFooterOffsetFromEnd = 32;
constexpr size_t kMetadataHeaderSize = 16;  // "ASEV", u32 size, u32 version, u32 num_items
constexpr size_t kSectionDescSize = 12;     // u32 gpa, u32 size, u32 type

uint32_t LoadU32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3])) << 24;
}
uint16_t LoadU16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8);
}

bool KnownSectionType(uint32_t t) { return (t >= 1 && t <= 4) || t == 0x10; }

}  // namespace

std::string GuidLe(const char* text) {
  std::string hex;
  for (const char* p = text; *p; ++p) {
    if (*p != '-') hex.push_back(*p);
  }
  std::string b(16, '\0');
  for (size_t i = 0; i < 16 && 2 * i + 1 < hex.size(); ++i) {
    b[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  // The first three fields (4, 2, 2 bytes) are stored little-endian.
  std::swap(b[0], b[3]);
  std::swap(b[1], b[2]);
  std::swap(b[4], b[5]);
  std::swap(b[6], b[7]);
  return b;
}

absl::StatusOr<Ovmf> Ovmf::Parse(std::string image) {
  if (image.empty() || image.size() % 4096 != 0 || image.size() > (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError(
        absl::StrCat("OVMF image is ", image.size(), " bytes; it must be a non-empty multiple of 4096, at most 4 GiB"));
  }
  Ovmf o;
  o.data_ = std::move(image);
  RETURN_IF_ERROR(o.ParseFooterTable());
  RETURN_IF_ERROR(o.ParseSevMetadata());
  return o;
}

absl::Status Ovmf::ParseFooterTable() {
  const size_t footer = data_.size() - kFooterOffsetFromEnd - kEntryHeaderSize;
  if (data_.compare(footer + 2, 16, GuidLe(kFooterGuid)) != 0) {
    return absl::InvalidArgumentError(
        "OVMF image has no GUIDed footer table (32 bytes before its end): not an SEV-capable OVMF build");
  }
  const size_t footer_size = LoadU16(data_, footer);
  if (footer_size < kEntryHeaderSize || footer_size - kEntryHeaderSize > footer) {
    return absl::InvalidArgumentError(absl::StrCat("OVMF footer table size ", footer_size, " is out of bounds"));
  }
  size_t begin = footer - (footer_size - kEntryHeaderSize), end = footer;  // the entries, parsed from the end
  while (end - begin >= kEntryHeaderSize) {
    const size_t header = end - kEntryHeaderSize;
    const size_t size = LoadU16(data_, header);
    if (size < kEntryHeaderSize || size > end - begin) {
      return absl::InvalidArgumentError(
          absl::StrCat("OVMF footer table entry at offset ", header, " has size ", size, ", outside the table"));
    }
    table_[data_.substr(header + 2, 16)] = data_.substr(end - size, size - kEntryHeaderSize);
    end -= size;
  }
  return absl::OkStatus();
}

absl::Status Ovmf::ParseSevMetadata() {
  auto it = table_.find(GuidLe(kSevMetadataGuid));
  if (it == table_.end()) {
    return absl::InvalidArgumentError("OVMF footer table has no SEV metadata entry: not an SEV-SNP OVMF build");
  }
  if (it->second.size() < 4) return absl::InvalidArgumentError("OVMF SEV metadata entry is shorter than 4 bytes");
  const uint32_t from_end = LoadU32(it->second, 0);
  if (from_end > data_.size() || from_end < kMetadataHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("OVMF SEV metadata offset ", from_end, " is out of bounds"));
  }
  const size_t start = data_.size() - from_end;
  if (data_.compare(start, 4, "ASEV") != 0)
    return absl::InvalidArgumentError("OVMF SEV metadata signature is not ASEV");
  const uint32_t size = LoadU32(data_, start + 4), version = LoadU32(data_, start + 8);
  const uint32_t count = LoadU32(data_, start + 12);
  if (version != 1) return absl::InvalidArgumentError(absl::StrCat("OVMF SEV metadata version ", version, " is not 1"));
  if (size < kMetadataHeaderSize || size > from_end ||
      uint64_t{count} * kSectionDescSize > size - kMetadataHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("OVMF SEV metadata (size ", size, ", ", count, " sections) runs past its bounds"));
  }
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = start + kMetadataHeaderSize + i * kSectionDescSize;
    const uint32_t type = LoadU32(data_, at + 8);
    if (!KnownSectionType(type)) {
      return absl::InvalidArgumentError(absl::StrFormat("OVMF SEV metadata section %u has unknown type 0x%x", i, type));
    }
    sections_.push_back({LoadU32(data_, at), LoadU32(data_, at + 4), static_cast<SectionType>(type)});
  }
  return absl::OkStatus();
}

bool Ovmf::HasSection(SectionType t) const {
  for (const auto& s : sections_) {
    if (s.type == t) return true;
  }
  return false;
}

absl::StatusOr<uint32_t> Ovmf::TableU32(const std::string& guid_le, const char* name) const {
  auto it = table_.find(guid_le);
  if (it == table_.end()) return absl::NotFoundError(absl::StrCat("OVMF footer table has no ", name, " entry"));
  if (it->second.size() < 4) return absl::InvalidArgumentError(absl::StrCat("OVMF ", name, " entry is too short"));
  return LoadU32(it->second, 0);
}

absl::StatusOr<uint32_t> Ovmf::SevEsResetEip() const {
  return TableU32(GuidLe(kSevEsResetBlockGuid), "SEV_ES_RESET_BLOCK");
}
absl::StatusOr<uint32_t> Ovmf::SevHashTableGpa() const {
  return TableU32(GuidLe(kSevHashTableRvGuid), "SEV_HASH_TABLE_RV");
}

}  // namespace spirecvm::sevsnp::measure
