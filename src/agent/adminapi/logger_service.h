// spire.api.agent.logger.v1.Logger on the agent's admin socket, over an spdlog logger (the process's default one
// in the agent): GetLogger, SetLogLevel, ResetLogLevel, as SPIRE's agent (pkg/agent/api/logger/v1).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "spdlog/spdlog.h"
#include "spire/api/agent/logger/v1/logger.grpc.pb.h"

namespace spirecvm::agent::adminapi {

namespace loggerv1 = ::spire::api::agent::logger::v1;
namespace apitypes = ::spire::api::types;

// SPIRE's levels on spdlog's, as the server's Logger: PANIC and FATAL both become `critical` (read back as FATAL;
// spdlog's `off` reads as PANIC); TRACE..ERROR map 1:1.
// InvalidArgument for UNSPECIFIED and values outside the enum.
absl::StatusOr<spdlog::level::level_enum> SpdlogLevel(apitypes::LogLevel level);
apitypes::LogLevel ApiLevel(spdlog::level::level_enum level);

// Thread-safety: calls run concurrently on gRPC threads; spdlog's set_level/level are atomic.
class LoggerService final : public loggerv1::Logger::Service {
 public:
  // The launch level is the logger's level now (the configured log_level), as SPIRE takes it at construction.
  explicit LoggerService(std::shared_ptr<spdlog::logger> logger);

  grpc::Status GetLogger(grpc::ServerContext*, const loggerv1::GetLoggerRequest*, apitypes::Logger* out) override;
  grpc::Status SetLogLevel(grpc::ServerContext*, const loggerv1::SetLogLevelRequest* req,
                           apitypes::Logger* out) override;
  grpc::Status ResetLogLevel(grpc::ServerContext*, const loggerv1::ResetLogLevelRequest*,
                             apitypes::Logger* out) override;

 private:
  void Describe(apitypes::Logger* out) const;

  std::shared_ptr<spdlog::logger> logger_;
  const spdlog::level::level_enum launch_level_;
};

}  // namespace spirecvm::agent::adminapi
