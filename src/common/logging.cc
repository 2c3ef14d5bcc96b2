#include "common/logging.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace spirecvm::logging {

absl::Status Configure(std::string_view level, std::string_view component) {
  std::string l = absl::AsciiStrToUpper(ToAbsl(level));
  spdlog::level::level_enum lvl;
  if (l == "TRACE") {
    lvl = spdlog::level::trace;
  } else if (l == "DEBUG") {
    lvl = spdlog::level::debug;
  } else if (l == "INFO") {
    lvl = spdlog::level::info;
  } else if (l == "WARN" || l == "WARNING") {
    lvl = spdlog::level::warn;
  } else if (l == "ERROR") {
    lvl = spdlog::level::err;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("log level \"", ToAbsl(level), "\" is not one of DEBUG, INFO, WARN, ERROR"));
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(component), sink);
  // RFC 3339-like UTC-offset timestamps, level, component: greppable and close to SPIRE's logrus text format.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

}  // namespace spirecvm::logging
