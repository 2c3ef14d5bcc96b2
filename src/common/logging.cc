#include "common/logging.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace spirecvm::logging {
namespace {

void AppendEscaped(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

// %* in the pattern: the message payload, escaped.
class EscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string escaped = EscapeForLog(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedPayload>(); }
};

}  // namespace

std::string EscapeForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(text, out);
  return out;
}

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
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EscapedPayload>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %*");
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

}  // namespace spirecvm::logging
