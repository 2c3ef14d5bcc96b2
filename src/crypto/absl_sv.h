// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0), so a
// std::string_view does not convert implicitly. Av() bridges the two without copying.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace spirecvm {

inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace spirecvm
