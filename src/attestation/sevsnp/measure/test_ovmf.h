// TEST ONLY: builds small synthetic OVMF images carrying a GUIDed footer table and SEV metadata, so the parser and
// the digest can be tested without a firmware build (and with sections Debian's OVMF lacks, e.g. kernel hashes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attestation/sevsnp/measure/ovmf.h"

namespace spirecvm::sevsnp::measure::testing {

struct SyntheticOvmf {
  size_t pages = 16;
  uint32_t reset_eip = 0xffffe000;     // 0: no SEV_ES_RESET_BLOCK entry
  uint32_t hash_table_gpa = 0x80cc00;  // 0: no SEV_HASH_TABLE_RV entry
  bool metadata = true;
  std::vector<MetadataSection> sections = {
      {0x800000, 0x9000, SectionType::kSnpSecMem}, {0x809000, 0x1000, SectionType::kSnpSecrets},
      {0x80a000, 0x1000, SectionType::kCpuid},     {0x80c000, 0x1000, SectionType::kSnpKernelHashes},
      {0x80d000, 0x3000, SectionType::kSnpSecMem},
  };
};

inline void PutU16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v & 0xff);
  s[at + 1] = static_cast<char>(v >> 8);
}
inline void PutU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::string U32(uint32_t v) {
  std::string s(4, '\0');
  PutU32(s, 0, v);
  return s;
}
inline std::string Entry(const std::string& data, const char* guid) {
  std::string e = data + std::string(2, '\0') + GuidLe(guid);
  PutU16(e, data.size(), static_cast<uint16_t>(data.size() + 18));
  return e;
}

// The metadata sits at the start of the image's last page; the footer table ends 32 bytes before the end.
inline std::string Build(const SyntheticOvmf& o) {
  std::string img(o.pages * 4096, '\0');
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<char>((i * 131 + 7) & 0xff);
  const size_t meta_at = img.size() - 4096;
  std::string meta = "ASEV" + U32(16 + 12 * o.sections.size()) + U32(1) + U32(o.sections.size());
  for (const auto& s : o.sections) meta += U32(s.gpa) + U32(s.size) + U32(static_cast<uint32_t>(s.type));
  img.replace(meta_at, meta.size(), meta);
  std::string table;
  if (o.metadata)
    table += Entry(U32(static_cast<uint32_t>(img.size() - meta_at)), "dc886566-984a-4798-a75e-5585a7bf67cc");
  if (o.reset_eip) table += Entry(U32(o.reset_eip), "00f771de-1a7e-4fcb-890e-68c77e2fb44e");
  if (o.hash_table_gpa) table += Entry(U32(o.hash_table_gpa) + U32(0x400), "7255371f-3a3b-4b04-927b-1da6efa8d454");
  table += Entry("", "96b582de-1fb2-45f7-baea-a366c55a082d");
  PutU16(table, table.size() - 18, static_cast<uint16_t>(table.size()));
  img.replace(img.size() - 32 - table.size(), table.size(), table);
  return img;
}

}  // namespace spirecvm::sevsnp::measure::testing
