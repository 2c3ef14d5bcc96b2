// Process-wide logging setup; afterwards code calls spdlog::info(...) etc. on the default logger.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace spirecvm::logging {

// level: DEBUG|INFO|WARN|ERROR (case-insensitive; "WARNING", "TRACE" accepted too). component: e.g. "server".
// Installs a stderr logger with timestamps as the spdlog default. InvalidArgument on an unknown level.
absl::Status Configure(std::string_view level, std::string_view component);

}  // namespace spirecvm::logging
