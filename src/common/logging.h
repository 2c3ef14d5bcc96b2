// Process-wide logging setup; afterwards code calls spdlog::info(...) etc. on the default logger.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace spirecvm::logging {

// level: DEBUG|INFO|WARN|ERROR (case-insensitive; "WARNING", "TRACE" accepted too). component: e.g. "server".
// Installs a stderr logger with timestamps as the spdlog default. InvalidArgument on an unknown level.
// Every message is written through EscapeForLog: text from agents and workloads (attestor types, IID fields,
// SPIFFE IDs, error messages quoting them) cannot forge log lines or send terminal escapes.
absl::Status Configure(std::string_view level, std::string_view component);

// Control characters (C0 and DEL) as \n, \r, \t, or \xNN, and the backslash as \\: one log line per message.
std::string EscapeForLog(std::string_view text);

}  // namespace spirecvm::logging
