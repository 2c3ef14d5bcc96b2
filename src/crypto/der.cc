#include "crypto/der.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::der {
namespace {

absl::Status Bad(std::string_view what, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": ", ToAbsl(why)));
}

}  // namespace

std::string Tlv(uint8_t tag, std::string_view content) {
  std::string out;
  out.reserve(content.size() + 6);
  out.push_back(static_cast<char>(tag));
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else {
    int bytes = 0;
    for (size_t v = n; v != 0; v >>= 8) ++bytes;
    out.push_back(static_cast<char>(0x80 | bytes));
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  out.append(content);
  return out;
}

std::string Uint(uint8_t tag, uint64_t v) {
  std::string bytes;
  do {
    bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
    v >>= 8;
  } while (v != 0);
  if (static_cast<uint8_t>(bytes[0]) & 0x80) bytes.insert(bytes.begin(), '\0');
  return Tlv(tag, bytes);
}

std::string Bool(bool v) { return Tlv(kBoolean, std::string(1, v ? '\xff' : '\0')); }

std::string Time(absl::Time t) {
  return Tlv(kGeneralizedTime, absl::FormatTime("%Y%m%d%H%M%SZ", t, absl::UTCTimeZone()));
}

absl::StatusOr<std::string_view> Reader::Next(uint8_t tag, std::string_view what) {
  if (in_.size() < 2) return Bad(what, "missing (the structure ends early)");
  if (static_cast<uint8_t>(in_[0]) != tag) {
    return Bad(what, absl::StrCat("tag 0x", absl::Hex(static_cast<unsigned>(static_cast<uint8_t>(in_[0]))),
                                  ", expected 0x", absl::Hex(static_cast<unsigned>(tag))));
  }
  const uint8_t first = static_cast<uint8_t>(in_[1]);
  size_t len = 0, header = 2;
  if (first < 0x80) {
    len = first;
  } else if (first == 0x81) {
    if (in_.size() < 3) return Bad(what, "length truncated");
    len = static_cast<uint8_t>(in_[2]);
    if (len < 0x80) return Bad(what, "length not minimally encoded");
    header = 3;
  } else if (first == 0x82) {
    if (in_.size() < 4) return Bad(what, "length truncated");
    len = (size_t{static_cast<uint8_t>(in_[2])} << 8) | static_cast<uint8_t>(in_[3]);
    if (len <= 0xff) return Bad(what, "length not minimally encoded");
    header = 4;
  } else {
    return Bad(what, first == 0x80 ? "indefinite length (not DER)" : "length too large");
  }
  if (len > in_.size() - header) return Bad(what, absl::StrCat("length ", len, " runs past the end of its input"));
  std::string_view content = in_.substr(header, len);
  in_.remove_prefix(header + len);
  return content;
}

absl::StatusOr<uint64_t> Reader::NextUint(uint8_t tag, std::string_view what) {
  ASSIGN_OR_RETURN(std::string_view c, Next(tag, what));
  if (c.empty()) return Bad(what, "empty integer");
  const auto b0 = static_cast<uint8_t>(c[0]);
  if (b0 & 0x80) return Bad(what, "negative");
  if (c.size() > 1 && b0 == 0 && !(static_cast<uint8_t>(c[1]) & 0x80)) return Bad(what, "not minimally encoded");
  if (c.size() > 9 || (c.size() == 9 && b0 != 0)) return Bad(what, "larger than 64 bits");
  uint64_t v = 0;
  for (char ch : c) v = (v << 8) | static_cast<uint8_t>(ch);
  return v;
}

absl::StatusOr<bool> Reader::NextBool(std::string_view what) {
  ASSIGN_OR_RETURN(std::string_view c, Next(kBoolean, what));
  if (c.size() != 1) return Bad(what, "a BOOLEAN is one byte");
  if (c[0] == '\0') return false;
  if (c[0] == '\xff') return true;
  return Bad(what, "a DER BOOLEAN is 00 or FF");
}

absl::StatusOr<absl::Time> Reader::NextTime(std::string_view what) {
  ASSIGN_OR_RETURN(std::string_view c, Next(kGeneralizedTime, what));
  if (c.size() != 15 || c[14] != 'Z') return Bad(what, "not YYYYMMDDHHMMSSZ");
  for (size_t i = 0; i < 14; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c[i]))) return Bad(what, "not YYYYMMDDHHMMSSZ");
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (c[i] - '0');
    return v;
  };
  const absl::Time t = absl::FromCivil(
      absl::CivilSecond(num(0, 4), num(4, 2), num(6, 2), num(8, 2), num(10, 2), num(12, 2)), absl::UTCTimeZone());
  // CivilSecond normalises (e.g. month 13); DER admits only the one spelling of a time.
  if (absl::FormatTime("%Y%m%d%H%M%SZ", t, absl::UTCTimeZone()) != c) return Bad(what, "not a valid date and time");
  return t;
}

}  // namespace spirecvm::der
