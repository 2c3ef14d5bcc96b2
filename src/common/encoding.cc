#include "common/encoding.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsAlnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsStd(char c) { return IsAlnum(c) || c == '+' || c == '/'; }
bool IsUrl(char c) { return IsAlnum(c) || c == '-' || c == '_'; }

absl::Status Bad(std::string_view codec, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(codec), ": ", ToAbsl(why)));
}

// Standard Base64: a multiple of 4 characters, at most two '=' and only at the end.
absl::Status CheckStd(std::string_view b64) {
  if (b64.size() % 4 != 0) return Bad("base64", absl::StrCat("length ", b64.size(), " is not a multiple of 4"));
  size_t data = b64.size();
  while (data > 0 && b64.size() - data < 2 && b64[data - 1] == '=') --data;
  for (size_t i = 0; i < data; ++i) {
    if (b64[i] == '=') return Bad("base64", absl::StrCat("padding before the end at offset ", i));
    if (!IsStd(b64[i])) return Bad("base64", absl::StrCat("invalid character at offset ", i));
  }
  return absl::OkStatus();
}

// Unpadded Base64url: URL alphabet only, and no length that leaves a lone 6-bit group.
absl::Status CheckUrl(std::string_view b64url) {
  for (size_t i = 0; i < b64url.size(); ++i) {
    if (b64url[i] == '=') return Bad("base64url", absl::StrCat("padding is not allowed (offset ", i, ")"));
    if (!IsUrl(b64url[i])) return Bad("base64url", absl::StrCat("invalid character at offset ", i));
  }
  if (b64url.size() % 4 == 1) return Bad("base64url", absl::StrCat("impossible length ", b64url.size()));
  return absl::OkStatus();
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
  RETURN_IF_ERROR(CheckStd(b64));
  std::string out;
  if (!absl::Base64Unescape(ToAbsl(b64), &out)) return Bad("base64", "malformed input");
  // Re-encoding must reproduce the input: rejects non-zero trailing bits (non-canonical encodings).
  if (ToStd(absl::Base64Escape(out)) != b64) return Bad("base64", "non-canonical encoding");
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) { return absl::WebSafeBase64Escape(ToAbsl(bytes)); }

absl::StatusOr<std::string> Base64UrlDecode(std::string_view b64url) {
  RETURN_IF_ERROR(CheckUrl(b64url));
  std::string out;
  if (!absl::WebSafeBase64Unescape(ToAbsl(b64url), &out)) return Bad("base64url", "malformed input");
  if (ToStd(absl::WebSafeBase64Escape(out)) != b64url) return Bad("base64url", "non-canonical encoding");
  return out;
}

}  // namespace spirecvm
