#include "common/uuid.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace spirecvm {

std::string NewUuidV4(Random& random) {
  std::string b = random.Bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // variant 10xx
  std::string h = HexEncode(b);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-", h.substr(16, 4), "-",
                      h.substr(20));
}

}  // namespace spirecvm
