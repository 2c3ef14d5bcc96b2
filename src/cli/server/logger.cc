// spire-server logger get|set|reset: SPIRE's logger.v1 API; levels named as SPIRE (logrus) names them.
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/server/cli_common.h"
#include "spire/api/server/logger/v1/logger.grpc.pb.h"

namespace spirecvm::cli {
namespace {

namespace loggerv1 = ::spire::api::server::logger::v1;

// logrus's level names, which SPIRE prints; "warning" for WARN.
absl::StatusOr<std::string> LevelName(stypes::LogLevel l) {
  switch (l) {
    case stypes::PANIC:
      return std::string("panic");
    case stypes::FATAL:
      return std::string("fatal");
    case stypes::ERROR:
      return std::string("error");
    case stypes::WARN:
      return std::string("warning");
    case stypes::INFO:
      return std::string("info");
    case stypes::DEBUG:
      return std::string("debug");
    case stypes::TRACE:
      return std::string("trace");
    default:
      return absl::InvalidArgumentError("undefined");
  }
}

int PrintLogger(const stypes::Logger& l, bool json, Io io) {
  if (json) return (io.out << SpireJson(l), 0);
  auto current = LevelName(l.current_level());
  if (!current.ok()) {
    return Fail(io, "internal error: returned current log level is undefined; please report this as a bug");
  }
  auto launch = LevelName(l.launch_level());
  if (!launch.ok()) {
    return Fail(io, "internal error: returned launch log level is undefined; please report this as a bug");
  }
  io.out << "Logger Level : " << *current << "\nLaunch Level : " << *launch << "\n\n";
  return 0;
}

// logrus.ParseLevel, as SPIRE's `logger set` accepts it.
std::optional<stypes::LogLevel> ParseLevel(const std::string& s) {
  const std::string l = absl::AsciiStrToLower(s);
  if (l == "panic") return stypes::PANIC;
  if (l == "fatal") return stypes::FATAL;
  if (l == "error") return stypes::ERROR;
  if (l == "warn" || l == "warning") return stypes::WARN;
  if (l == "info") return stypes::INFO;
  if (l == "debug") return stypes::DEBUG;
  if (l == "trace") return stypes::TRACE;
  return std::nullopt;
}

template <typename Request>
int LoggerCall(const char* name, const char* what, const std::vector<std::string>& args, Io io,
               grpc::Status (loggerv1::Logger::Stub::*call)(grpc::ClientContext*, const Request&, stypes::Logger*)) {
  flags::FlagSet fs(name);
  ServerFlags server;
  server.Register(fs);
  if (!server.Parse(fs, args, io)) return 1;
  stypes::Logger resp;
  grpc::ClientContext ctx;
  auto stub = loggerv1::Logger::NewStub(Dial(server.socket));
  if (auto s = ((*stub).*call)(&ctx, Request(), &resp); !s.ok()) return FailRpc(io, what, s);
  return PrintLogger(resp, server.json(), io);
}

}  // namespace

int LoggerGet(const std::vector<std::string>& args, Io io) {
  return LoggerCall("logger get", "error fetching logger", args, io, &loggerv1::Logger::Stub::GetLogger);
}

int LoggerReset(const std::vector<std::string>& args, Io io) {
  return LoggerCall("logger reset", "failed to reset logger", args, io, &loggerv1::Logger::Stub::ResetLogLevel);
}

int LoggerSet(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("logger set");
  ServerFlags server;
  std::string level;
  server.Register(fs);
  fs.String("level", &level, "The new log level, one of (panic, fatal, error, warn, info, debug, trace)");
  if (!server.Parse(fs, args, io)) return 1;
  if (level.empty()) return Fail(io, "a value (-level) must be set");
  auto parsed = ParseLevel(level);
  if (!parsed.has_value()) return Fail(io, absl::StrCat("the value \"", level, "\" is not a valid setting"));
  loggerv1::SetLogLevelRequest req;
  req.set_new_level(*parsed);
  stypes::Logger resp;
  grpc::ClientContext ctx;
  auto s = loggerv1::Logger::NewStub(Dial(server.socket))->SetLogLevel(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "failed to set log level", s);
  return PrintLogger(resp, server.json(), io);
}

}  // namespace spirecvm::cli
