// SPIRE's Logger service called directly: it reads and changes spdlog's level and resets it to the launch level.
#include "server/api/spire/logger_service.h"

#include "gtest/gtest.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireapi {
namespace {

namespace types = ::spire::api::types;

class LoggerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::info);  // the configured log_level
    svc_ = std::make_unique<LoggerService>();
  }
  void TearDown() override { spdlog::set_level(saved_); }

  spdlog::level::level_enum saved_;
  std::unique_ptr<LoggerService> svc_;
};

TEST_F(LoggerServiceTest, GetReportsCurrentAndLaunchLevels) {
  loggerv1::GetLoggerRequest req;
  types::Logger resp;
  ASSERT_TRUE(svc_->GetLogger(nullptr, &req, &resp).ok());
  EXPECT_EQ(resp.current_level(), types::INFO);
  EXPECT_EQ(resp.launch_level(), types::INFO);
}

TEST_F(LoggerServiceTest, SetChangesTheLevelAndResetRestoresTheLaunchLevel) {
  loggerv1::SetLogLevelRequest set;
  set.set_new_level(types::DEBUG);
  types::Logger resp;
  ASSERT_TRUE(svc_->SetLogLevel(nullptr, &set, &resp).ok());
  EXPECT_EQ(resp.current_level(), types::DEBUG);
  EXPECT_EQ(resp.launch_level(), types::INFO);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
  EXPECT_TRUE(spdlog::default_logger()->should_log(spdlog::level::debug));

  set.set_new_level(types::ERROR);
  ASSERT_TRUE(svc_->SetLogLevel(nullptr, &set, &resp).ok());
  EXPECT_EQ(resp.current_level(), types::ERROR);
  EXPECT_FALSE(spdlog::default_logger()->should_log(spdlog::level::warn));

  loggerv1::ResetLogLevelRequest reset;
  types::Logger after;
  ASSERT_TRUE(svc_->ResetLogLevel(nullptr, &reset, &after).ok());
  EXPECT_EQ(after.current_level(), types::INFO);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
}

TEST_F(LoggerServiceTest, SetRefusesAnUnspecifiedOrUnknownLevel) {
  loggerv1::SetLogLevelRequest set;
  types::Logger resp;
  auto st = svc_->SetLogLevel(nullptr, &set, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "newLevel value cannot be LogLevel_UNSPECIFIED");
  set.set_new_level(static_cast<types::LogLevel>(42));
  EXPECT_EQ(svc_->SetLogLevel(nullptr, &set, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::info) << "unchanged";
}

TEST(LoggerLevels, SpdlogLevelsMapToSpireNames) {
  EXPECT_EQ(ToApiLevel(spdlog::level::trace), types::TRACE);
  EXPECT_EQ(ToApiLevel(spdlog::level::warn), types::WARN);
  EXPECT_EQ(ToApiLevel(spdlog::level::critical), types::FATAL);
  EXPECT_EQ(ToApiLevel(spdlog::level::off), types::PANIC);
}

}  // namespace
}  // namespace spirecvm::server::spireapi
