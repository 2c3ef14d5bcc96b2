// SPIRE's spire.api.server.logger.v1.Logger on the admin socket: what SPIRE's `spire-server logger get|set|reset`
// call. It works on spdlog's level (every logger of the process); the launch level is the level when the service is
// made, i.e. the configured log_level (logging::Configure runs before the server is built).
#pragma once

#include "spdlog/common.h"
#include "spire/api/server/logger/v1/logger.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace loggerv1 = ::spire::api::server::logger::v1;

// SPIRE's level names over spdlog's: PANIC and FATAL are both spdlog's critical; spdlog's off reads as PANIC.
::spire::api::types::LogLevel ToApiLevel(spdlog::level::level_enum l);

// Thread-safe (spdlog's level is atomic).
class LoggerService final : public loggerv1::Logger::Service {
 public:
  LoggerService();

  grpc::Status GetLogger(grpc::ServerContext*, const loggerv1::GetLoggerRequest*,
                         ::spire::api::types::Logger* resp) override;
  grpc::Status SetLogLevel(grpc::ServerContext*, const loggerv1::SetLogLevelRequest* req,
                           ::spire::api::types::Logger* resp) override;
  grpc::Status ResetLogLevel(grpc::ServerContext*, const loggerv1::ResetLogLevelRequest*,
                             ::spire::api::types::Logger* resp) override;

 private:
  void Describe(::spire::api::types::Logger* out) const;

  const spdlog::level::level_enum launch_level_;
};

}  // namespace spirecvm::server::spireapi
