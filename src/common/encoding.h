// The one hex and Base64 codec of the tree (RFC 4648). Decoding is strict: garbage, misplaced padding and
// non-canonical encodings (non-zero trailing bits) are errors naming the codec and the reason, never skipped.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spirecvm {

std::string HexEncode(std::string_view bytes);                // lowercase
absl::StatusOr<std::string> HexDecode(std::string_view hex);  // upper or lower case; odd length is an error

// Standard alphabet (RFC 4648 §4), always padded to a multiple of 4: DER in JSON, x5c, SEV-SNP evidence.
std::string Base64Encode(std::string_view bytes);
absl::StatusOr<std::string> Base64Decode(std::string_view b64);  // padding required; no whitespace

// URL alphabet (RFC 4648 §5) without padding, as JOSE requires (RFC 7515 §2): JWT segments, JWK members.
std::string Base64UrlEncode(std::string_view bytes);
absl::StatusOr<std::string> Base64UrlDecode(std::string_view b64url);  // '=' is rejected

}  // namespace spirecvm
