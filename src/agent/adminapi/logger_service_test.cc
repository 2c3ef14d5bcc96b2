// The agent's Logger service on its own spdlog logger: launch level, set, reset, refusals.
#include "agent/adminapi/logger_service.h"

#include <gtest/gtest.h>

#include "spdlog/sinks/null_sink.h"

namespace spirecvm::agent::adminapi {
namespace {

std::shared_ptr<spdlog::logger> TestLogger(spdlog::level::level_enum level) {
  auto l = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  l->set_level(level);
  return l;
}

TEST(AgentLoggerServiceTest, GetSetReset) {
  auto logger = TestLogger(spdlog::level::warn);
  LoggerService svc(logger);
  apitypes::Logger out;
  ASSERT_TRUE(svc.GetLogger(nullptr, nullptr, &out).ok());
  EXPECT_EQ(out.current_level(), apitypes::LogLevel::WARN);
  EXPECT_EQ(out.launch_level(), apitypes::LogLevel::WARN);

  loggerv1::SetLogLevelRequest req;
  req.set_new_level(apitypes::LogLevel::DEBUG);
  ASSERT_TRUE(svc.SetLogLevel(nullptr, &req, &out).ok());
  EXPECT_EQ(out.current_level(), apitypes::LogLevel::DEBUG);
  EXPECT_EQ(out.launch_level(), apitypes::LogLevel::WARN);
  EXPECT_EQ(logger->level(), spdlog::level::debug);

  ASSERT_TRUE(svc.ResetLogLevel(nullptr, nullptr, &out).ok());
  EXPECT_EQ(out.current_level(), apitypes::LogLevel::WARN);
  EXPECT_EQ(logger->level(), spdlog::level::warn);
}

TEST(AgentLoggerServiceTest, RefusesUnspecifiedAndUnknownLevels) {
  auto logger = TestLogger(spdlog::level::info);
  LoggerService svc(logger);
  apitypes::Logger out;
  loggerv1::SetLogLevelRequest req;
  grpc::Status st = svc.SetLogLevel(nullptr, &req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "newLevel value cannot be LogLevel_UNSPECIFIED");
  req.set_new_level(static_cast<apitypes::LogLevel>(42));
  st = svc.SetLogLevel(nullptr, &req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "unsupported log level");
  EXPECT_EQ(logger->level(), spdlog::level::info);
}

TEST(AgentLoggerServiceTest, LevelMapping) {
  EXPECT_EQ(*SpdlogLevel(apitypes::LogLevel::TRACE), spdlog::level::trace);
  EXPECT_EQ(*SpdlogLevel(apitypes::LogLevel::ERROR), spdlog::level::err);
  EXPECT_EQ(*SpdlogLevel(apitypes::LogLevel::PANIC), spdlog::level::critical);
  EXPECT_EQ(ApiLevel(spdlog::level::critical), apitypes::LogLevel::FATAL);
  EXPECT_EQ(ApiLevel(spdlog::level::info), apitypes::LogLevel::INFO);
}

}  // namespace
}  // namespace spirecvm::agent::adminapi
