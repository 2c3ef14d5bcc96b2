#include "common/hex.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace spirecvm {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsStd(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
bool IsUrl(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Strips up to two '=' of padding. Returns false if padding is malformed.
bool StripPadding(std::string_view& s, bool required) {
  size_t pad = 0;
  while (!s.empty() && s.back() == '=' && pad < 2) {
    s.remove_suffix(1);
    ++pad;
  }
  if (!s.empty() && s.back() == '=') return false;
  if (pad > 0) return (s.size() + pad) % 4 == 0 && s.size() % 4 != 0 && s.size() % 4 + pad == 4;
  return !required || s.size() % 4 == 0;
}

}  // namespace

std::string HexEncode(std::string_view bytes) { return absl::BytesToHexString(ToAbsl(bytes)); }

absl::StatusOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("hex: odd length ", hex.size()));
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexVal(hex[i]), lo = HexVal(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? i : i + 1;
      return absl::InvalidArgumentError(absl::StrCat("hex: invalid character at offset ", bad));
    }
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) { return absl::Base64Escape(ToAbsl(bytes)); }

absl::StatusOr<std::string> Base64Decode(std::string_view b64) {
  std::string_view s = b64;
  if (!StripPadding(s, /*required=*/true)) return absl::InvalidArgumentError("base64: bad length or padding");
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsStd(s[i])) return absl::InvalidArgumentError(absl::StrCat("base64: invalid character at offset ", i));
  }
  std::string out;
  if (!absl::Base64Unescape(ToAbsl(s), &out)) return absl::InvalidArgumentError("base64: malformed input");
  // Re-encoding must reproduce the input: rejects non-zero trailing bits (non-canonical encodings).
  if (ToStd(absl::Base64Escape(out)) != b64) return absl::InvalidArgumentError("base64: non-canonical encoding");
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) { return absl::WebSafeBase64Escape(ToAbsl(bytes)); }

absl::StatusOr<std::string> Base64UrlDecode(std::string_view b64) {
  std::string_view s = b64;
  if (!StripPadding(s, /*required=*/false)) return absl::InvalidArgumentError("base64url: bad padding");
  if (s.size() % 4 == 1) return absl::InvalidArgumentError("base64url: bad length");
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsUrl(s[i])) return absl::InvalidArgumentError(absl::StrCat("base64url: invalid character at offset ", i));
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(ToAbsl(s), &out)) return absl::InvalidArgumentError("base64url: malformed input");
  if (std::string_view(absl::WebSafeBase64Escape(out)) != s)
    return absl::InvalidArgumentError("base64url: non-canonical encoding");
  return out;
}

}  // namespace spirecvm
