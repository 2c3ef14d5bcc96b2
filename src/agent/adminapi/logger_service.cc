#include "agent/adminapi/logger_service.h"

#include "absl/strings/str_cat.h"

namespace spirecvm::agent::adminapi {

absl::StatusOr<spdlog::level::level_enum> SpdlogLevel(apitypes::LogLevel level) {
  switch (level) {
    case apitypes::LogLevel::PANIC:
    case apitypes::LogLevel::FATAL:
      return spdlog::level::critical;
    case apitypes::LogLevel::ERROR:
      return spdlog::level::err;
    case apitypes::LogLevel::WARN:
      return spdlog::level::warn;
    case apitypes::LogLevel::INFO:
      return spdlog::level::info;
    case apitypes::LogLevel::DEBUG:
      return spdlog::level::debug;
    case apitypes::LogLevel::TRACE:
      return spdlog::level::trace;
    case apitypes::LogLevel::UNSPECIFIED:
      return absl::InvalidArgumentError("newLevel value cannot be LogLevel_UNSPECIFIED");
    default:
      return absl::InvalidArgumentError("unsupported log level");
  }
}

apitypes::LogLevel ApiLevel(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return apitypes::LogLevel::TRACE;
    case spdlog::level::debug:
      return apitypes::LogLevel::DEBUG;
    case spdlog::level::info:
      return apitypes::LogLevel::INFO;
    case spdlog::level::warn:
      return apitypes::LogLevel::WARN;
    case spdlog::level::err:
      return apitypes::LogLevel::ERROR;
    case spdlog::level::critical:
      return apitypes::LogLevel::FATAL;
    case spdlog::level::off:
      return apitypes::LogLevel::PANIC;
    default:
      return apitypes::LogLevel::UNSPECIFIED;
  }
}

LoggerService::LoggerService(std::shared_ptr<spdlog::logger> logger)
    : logger_(std::move(logger)), launch_level_(logger_->level()) {
  logger_->info("Logger service configured (launch log level {})", apitypes::LogLevel_Name(ApiLevel(launch_level_)));
}

void LoggerService::Describe(apitypes::Logger* out) const {
  out->set_current_level(ApiLevel(logger_->level()));
  out->set_launch_level(ApiLevel(launch_level_));
}

grpc::Status LoggerService::GetLogger(grpc::ServerContext*, const loggerv1::GetLoggerRequest*, apitypes::Logger* out) {
  Describe(out);
  return grpc::Status::OK;
}

grpc::Status LoggerService::SetLogLevel(grpc::ServerContext*, const loggerv1::SetLogLevelRequest* req,
                                        apitypes::Logger* out) {
  absl::StatusOr<spdlog::level::level_enum> level = SpdlogLevel(req->new_level());
  if (!level.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(level.status().message()));
  logger_->info("SetLogLevel called (new log level {})", apitypes::LogLevel_Name(req->new_level()));
  logger_->set_level(*level);
  Describe(out);
  return grpc::Status::OK;
}

grpc::Status LoggerService::ResetLogLevel(grpc::ServerContext*, const loggerv1::ResetLogLevelRequest*,
                                          apitypes::Logger* out) {
  logger_->info("ResetLogLevel called (launch log level {})", apitypes::LogLevel_Name(ApiLevel(launch_level_)));
  logger_->set_level(launch_level_);
  Describe(out);
  return grpc::Status::OK;
}

}  // namespace spirecvm::agent::adminapi
