// The few DER forms the node-facts structure and the X509-SVID writer use, hand-written with explicit bounds
// (docs/architecture.md says why not OpenSSL's ASN.1 templates). The writer builds TLVs of any length; the reader walks
// untrusted bytes and refuses anything that is not the one DER encoding: indefinite or non-minimal lengths, non-minimal
// or negative INTEGERs, BOOLEANs other than 00/FF, and any length past the end of its input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm::der {

inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kOid = 0x06;
inline constexpr uint8_t kEnumerated = 0x0a;
inline constexpr uint8_t kUtf8String = 0x0c;
inline constexpr uint8_t kGeneralizedTime = 0x18;
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;

// The reader refuses contents longer than this (every structure it reads is far smaller).
inline constexpr size_t kMaxContent = 0xffff;

std::string Tlv(uint8_t tag, std::string_view content);  // minimal definite length, any size
std::string Uint(uint8_t tag, uint64_t v);               // INTEGER or ENUMERATED, non-negative, minimal
std::string Bool(bool v);
std::string Time(absl::Time t);  // GeneralizedTime YYYYMMDDHHMMSSZ (whole seconds, UTC)

// Reads one element at a time from the front of `in`; never reads past its end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool empty() const { return in_.empty(); }
  // The contents of the next element, which must have tag `tag`; `what` names it in errors.
  absl::StatusOr<std::string_view> Next(uint8_t tag, std::string_view what);
  absl::StatusOr<uint64_t> NextUint(uint8_t tag, std::string_view what);
  absl::StatusOr<bool> NextBool(std::string_view what);
  absl::StatusOr<absl::Time> NextTime(std::string_view what);

 private:
  std::string_view in_;
};

}  // namespace spirecvm::der
