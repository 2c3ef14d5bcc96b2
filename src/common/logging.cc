#include "common/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/base_sink.h"
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

// logrus's level names (SPIRE's JSON logs).
const char* LogrusLevel(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warning";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "fatal";
    default:
      return "info";
  }
}

// One JSON object per line, keys as logrus writes them (sorted: level, msg, subsystem_name, time).
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string component) : component_(std::move(component)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json j;
    j["level"] = LogrusLevel(msg.level);
    j["msg"] = std::string(msg.payload.data(), msg.payload.size());
    j["subsystem_name"] = component_;
    j["time"] = Rfc3339(msg.time);
    // Invalid UTF-8 (agent-supplied text) is replaced, never thrown on; JSON escaping keeps it one line.
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(component_); }

 private:
  static std::string Rfc3339(spdlog::log_clock::time_point tp) {
    const std::time_t secs = spdlog::log_clock::to_time_t(tp);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[40];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
    // +0000 -> +00:00 (RFC 3339). Built from two pieces: std::string::insert here trips GCC 12's -Wrestrict
    // false positive at -O2 (the release build).
    if (n < 5) return std::string(buf, n);
    std::string out(buf, n - 2);
    out.push_back(':');
    out.append(buf + n - 2, 2);
    return out;
  }
  std::string component_;
};

// Appends formatted lines to a file opened once (O_APPEND, created 0640): no exceptions on a bad path, unlike
// spdlog's file sinks; the error is reported by Configure instead.
class AppendFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit AppendFileSink(int fd) : fd_(fd) {}
  ~AppendFileSink() override { ::close(fd_); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    const char* p = formatted.data();
    size_t left = formatted.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a full disk drops the line; logging must not stop the process
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  void flush_() override {}

 private:
  int fd_;
};

absl::StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view level) {
  std::string l = absl::AsciiStrToUpper(ToAbsl(level));
  if (l == "TRACE") return spdlog::level::trace;
  if (l == "DEBUG") return spdlog::level::debug;
  if (l == "INFO") return spdlog::level::info;
  if (l == "WARN" || l == "WARNING") return spdlog::level::warn;
  if (l == "ERROR") return spdlog::level::err;
  return absl::InvalidArgumentError(
      absl::StrCat("log level \"", ToAbsl(level), "\" is not one of DEBUG, INFO, WARN, ERROR"));
}

absl::StatusOr<spdlog::sink_ptr> MakeSink(const std::string& file) {
  if (file.empty()) return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat("log file \"", file, "\" cannot be opened: ", std::strerror(errno)));
  }
  return std::make_shared<AppendFileSink>(fd);
}

}  // namespace

absl::Status CheckFormat(std::string_view format) {
  std::string f = absl::AsciiStrToLower(ToAbsl(format));
  if (f.empty() || f == "text" || f == "json") return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("log format \"", ToAbsl(format), "\" is not one of text, json"));
}

std::string EscapeForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(text, out);
  return out;
}

absl::Status Configure(std::string_view level, std::string_view component) {
  Options options;
  options.level = std::string(level);
  return Configure(options, component);
}

absl::Status Configure(const Options& options, std::string_view component) {
  auto lvl = ParseLevel(options.level);
  if (!lvl.ok()) return lvl.status();
  if (absl::Status st = CheckFormat(options.format); !st.ok()) return st;
  auto sink = MakeSink(options.file);
  if (!sink.ok()) return sink.status();
  auto logger = std::make_shared<spdlog::logger>(std::string(component), *sink);
  if (absl::AsciiStrToLower(options.format) == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>(std::string(component)));
  } else {
    // RFC 3339-like UTC-offset timestamps, level, component: greppable and close to SPIRE's logrus text format.
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<EscapedPayload>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %*");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(*lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

}  // namespace spirecvm::logging
