#include "attestation/sevsnp/abi/cert_table.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attestation/sevsnp/abi/report.h"

namespace spirecvm::sevsnp::abi {
namespace {

constexpr size_t kEntrySize = 24;

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Guid MustGuid(absl::string_view s) {
  auto g = ParseGuid(s);
  return g.ok() ? *g : Guid{};
}

void StoreLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

absl::StatusOr<Guid> ParseGuid(absl::string_view text) {
  Guid g{};
  size_t n = 0;
  if (text.size() != 36) return absl::InvalidArgumentError(absl::StrCat("bad GUID \"", text, "\""));
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return absl::InvalidArgumentError(absl::StrCat("bad GUID \"", text, "\""));
      ++i;
      continue;
    }
    int hi = HexNibble(text[i]), lo = i + 1 < text.size() ? HexNibble(text[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n >= g.size()) return absl::InvalidArgumentError(absl::StrCat("bad GUID \"", text, "\""));
    g[n++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  if (n != g.size()) return absl::InvalidArgumentError(absl::StrCat("bad GUID \"", text, "\""));
  return g;
}

std::string GuidString(const Guid& g) {
  std::string s;
  for (size_t i = 0; i < g.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    absl::StrAppendFormat(&s, "%02x", g[i]);
  }
  return s;
}

const Guid& VcekGuid() {
  static const Guid g = MustGuid("63da758d-e664-4564-adc5-f4b93be8accd");
  return g;
}
const Guid& VlekGuid() {
  static const Guid g = MustGuid("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
  return g;
}
const Guid& AskGuid() {
  static const Guid g = MustGuid("4ab7b379-bbac-4fe4-a02f-05aef327c782");
  return g;
}
const Guid& ArkGuid() {
  static const Guid g = MustGuid("c0b406a4-a803-4952-9743-3fb6014cd0ae");
  return g;
}

std::optional<absl::string_view> CertTable::Find(const Guid& guid) const {
  for (const auto& e : entries)
    if (e.guid == guid) return absl::string_view(e.data);
  return std::nullopt;
}

absl::StatusOr<CertTable> ParseCertTable(absl::string_view bytes) {
  return ParseCertTable(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

absl::StatusOr<CertTable> ParseCertTable(absl::Span<const uint8_t> bytes) {
  CertTable table;
  if (bytes.empty()) return table;
  const size_t size = bytes.size();
  size_t header_end = 0;
  // First pass: find the terminator so we know where the header ends.
  for (size_t pos = 0;; pos += kEntrySize) {
    if (pos + kEntrySize > size) {
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate table: entry %d at offset %d runs past the end (%d bytes) before the "
                          "all-zero terminator",
                          pos / kEntrySize, pos, size));
    }
    bool zero = true;
    for (size_t i = 0; i < kEntrySize; ++i)
      if (bytes[pos + i] != 0) zero = false;
    if (zero) {
      header_end = pos + kEntrySize;
      break;
    }
    if (pos / kEntrySize >= kMaxCertTableEntries) {
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate table has more than %d entries", kMaxCertTableEntries));
    }
  }
  for (size_t pos = 0; pos + kEntrySize < header_end; pos += kEntrySize) {
    CertTableEntry e;
    std::memcpy(e.guid.data(), bytes.data() + pos, 16);
    const uint64_t offset = LoadLe32(bytes.data() + pos + 16);
    const uint64_t length = LoadLe32(bytes.data() + pos + 20);
    const size_t index = pos / kEntrySize;
    if (length == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate table entry %d (%s) has length 0", index, GuidString(e.guid)));
    }
    if (offset < header_end) {
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate table entry %d (%s) offset %d points into the table header (%d bytes)", index,
                          GuidString(e.guid), offset, header_end));
    }
    if (offset > size || length > size - offset) {
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate table entry %d (%s) [offset %d, length %d] runs past the end (%d bytes)", index,
                          GuidString(e.guid), offset, length, size));
    }
    if (table.Find(e.guid).has_value()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate table has a duplicate entry for GUID %s", GuidString(e.guid)));
    }
    e.data.assign(reinterpret_cast<const char*>(bytes.data() + offset), length);
    table.entries.push_back(std::move(e));
  }
  return table;
}

std::string SerializeCertTable(const CertTable& table) {
  const size_t header = (table.entries.size() + 1) * kEntrySize;
  size_t total = header;
  for (const auto& e : table.entries) total += e.data.size();
  const size_t padded = (total + 4095) / 4096 * 4096;
  std::string out(padded, '\0');
  uint8_t* b = reinterpret_cast<uint8_t*>(out.data());
  size_t cursor = header;
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const auto& e = table.entries[i];
    std::memcpy(b + i * kEntrySize, e.guid.data(), 16);
    StoreLe32(b + i * kEntrySize + 16, static_cast<uint32_t>(cursor));
    StoreLe32(b + i * kEntrySize + 20, static_cast<uint32_t>(e.data.size()));
    std::memcpy(b + cursor, e.data.data(), e.data.size());
    cursor += e.data.size();
  }
  return out;
}

}  // namespace spirecvm::sevsnp::abi
