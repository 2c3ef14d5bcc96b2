// GHCB extended-report certificate table: 24-byte entries {GUID (RFC 4122 byte order), u32 offset
// from table start, u32 length}, terminated by an all-zero entry. Untrusted: every offset and length
// is bounds checked; no trust decision is made here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace spirecvm::sevsnp::abi {

using Guid = std::array<uint8_t, 16>;

// Parses "63da758d-e664-4564-adc5-f4b93be8accd" into RFC 4122 (big-endian) byte order.
absl::StatusOr<Guid> ParseGuid(absl::string_view text);
std::string GuidString(const Guid& g);

const Guid& VcekGuid();  // 63da758d-e664-4564-adc5-f4b93be8accd
const Guid& VlekGuid();  // a8074bc2-a25a-483e-aae6-39c045a0b8a1
const Guid& AskGuid();   // 4ab7b379-bbac-4fe4-a02f-05aef327c782 (ASK or ASVK)
const Guid& ArkGuid();   // c0b406a4-a803-4952-9743-3fb6014cd0ae

struct CertTableEntry {
  Guid guid{};
  std::string data;  // the certificate bytes (DER as AMD serves them)
};

struct CertTable {
  std::vector<CertTableEntry> entries;
  // The first entry with that GUID, or nullopt.
  std::optional<absl::string_view> Find(const Guid& guid) const;
};

// Maximum entries accepted (a real table has at most 4); bounds the work an attacker can cause.
inline constexpr size_t kMaxCertTableEntries = 64;

// Rejects: a table that ends before the terminator, offsets/lengths outside the buffer or pointing
// into the header, duplicate GUIDs, more than kMaxCertTableEntries entries, zero-length entries.
// An empty input is an empty table (the host supplied no certificates).
absl::StatusOr<CertTable> ParseCertTable(absl::Span<const uint8_t> bytes);
absl::StatusOr<CertTable> ParseCertTable(absl::string_view bytes);

// Builds a table (header + terminator + payloads, padded to a 4 KiB page multiple like the kernel).
std::string SerializeCertTable(const CertTable& table);

}  // namespace spirecvm::sevsnp::abi
