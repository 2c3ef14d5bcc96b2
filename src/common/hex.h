// Hex and Base64 codecs with strict decoding: garbage input is an error, never silently skipped.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spirecvm {

std::string HexEncode(std::string_view bytes);                // lowercase
absl::StatusOr<std::string> HexDecode(std::string_view hex);  // accepts upper and lower case; odd length is an error

std::string Base64Encode(std::string_view bytes);                // standard alphabet, padded
absl::StatusOr<std::string> Base64Decode(std::string_view b64);  // standard alphabet; padding required when length%4!=0
std::string Base64UrlEncode(std::string_view bytes);             // URL alphabet, unpadded (JWT style)
absl::StatusOr<std::string> Base64UrlDecode(std::string_view b64);  // URL alphabet; padding optional

}  // namespace spirecvm
