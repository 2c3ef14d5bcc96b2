#include "server/api/spire/logger_service.h"

#include "spdlog/spdlog.h"

namespace spirecvm::server::spireapi {

namespace types = ::spire::api::types;

types::LogLevel ToApiLevel(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return types::TRACE;
    case spdlog::level::debug:
      return types::DEBUG;
    case spdlog::level::info:
      return types::INFO;
    case spdlog::level::warn:
      return types::WARN;
    case spdlog::level::err:
      return types::ERROR;
    case spdlog::level::critical:
      return types::FATAL;
    default:
      return types::PANIC;
  }
}

LoggerService::LoggerService() : launch_level_(spdlog::get_level()) {
  spdlog::info("Logger service configured: launch log level {}", types::LogLevel_Name(ToApiLevel(launch_level_)));
}

void LoggerService::Describe(types::Logger* out) const {
  out->set_current_level(ToApiLevel(spdlog::get_level()));
  out->set_launch_level(ToApiLevel(launch_level_));
}

grpc::Status LoggerService::GetLogger(grpc::ServerContext*, const loggerv1::GetLoggerRequest*, types::Logger* resp) {
  Describe(resp);
  return grpc::Status::OK;
}

grpc::Status LoggerService::SetLogLevel(grpc::ServerContext*, const loggerv1::SetLogLevelRequest* req,
                                        types::Logger* resp) {
  spdlog::level::level_enum level;
  switch (req->new_level()) {
    case types::UNSPECIFIED:
      return {grpc::StatusCode::INVALID_ARGUMENT, "newLevel value cannot be LogLevel_UNSPECIFIED"};
    case types::PANIC:
    case types::FATAL:
      level = spdlog::level::critical;
      break;
    case types::ERROR:
      level = spdlog::level::err;
      break;
    case types::WARN:
      level = spdlog::level::warn;
      break;
    case types::INFO:
      level = spdlog::level::info;
      break;
    case types::DEBUG:
      level = spdlog::level::debug;
      break;
    case types::TRACE:
      level = spdlog::level::trace;
      break;
    default:
      return {grpc::StatusCode::INVALID_ARGUMENT, "unsupported log level"};
  }
  // Logged before the change, so that it shows whatever the new level.
  spdlog::warn("SetLogLevel called: new log level {}", types::LogLevel_Name(req->new_level()));
  spdlog::set_level(level);
  Describe(resp);
  return grpc::Status::OK;
}

grpc::Status LoggerService::ResetLogLevel(grpc::ServerContext*, const loggerv1::ResetLogLevelRequest*,
                                          types::Logger* resp) {
  spdlog::warn("ResetLogLevel called: launch log level {}", types::LogLevel_Name(ToApiLevel(launch_level_)));
  spdlog::set_level(launch_level_);
  Describe(resp);
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
