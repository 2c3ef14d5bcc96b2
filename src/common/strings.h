// Debian's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: absl::string_view is its own type, so
// absl::StrCat/StrSplit/Base64Escape do not accept std::string_view and Status::message() is not a
// std::string_view. These zero-copy adapters bridge the two.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace spirecvm {

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace spirecvm
