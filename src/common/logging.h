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

// SPIRE's log_format / -logFormat and log_file / -logFile.
//   format "text" (default, case-insensitive): the line above. "json": one JSON object per line with logrus's field
//   names, as SPIRE writes them: {"level":"info","msg":"...","subsystem_name":"<component>","time":"<RFC 3339>"}.
//   file: empty for stderr; otherwise appended to (created 0640), as SPIRE does.
// InvalidArgument on an unknown level or format, or a log file that cannot be opened (naming it and why).
struct Options {
  std::string level = "INFO";
  std::string format = "text";
  std::string file;
};
absl::Status Configure(const Options& options, std::string_view component);

// Checks a log_format value ("text" or "json", case-insensitive) without configuring anything.
absl::Status CheckFormat(std::string_view format);

// Control characters (C0 and DEL) as \n, \r, \t, or \xNN, and the backslash as \\: one log line per message.
std::string EscapeForLog(std::string_view text);

}  // namespace spirecvm::logging
