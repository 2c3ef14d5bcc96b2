#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spdlog/spdlog.h"

namespace spirecvm::logging {
namespace {

using ::testing::HasSubstr;

TEST(LoggingTest, LevelsCaseInsensitive) {
  ASSERT_TRUE(Configure("debug", "server").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  EXPECT_EQ(spdlog::default_logger()->name(), "server");
  ASSERT_TRUE(Configure("Warn", "agent").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  ASSERT_TRUE(Configure("ERROR", "agent").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::err);
  ASSERT_TRUE(Configure("INFO", "agent").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

TEST(LoggingTest, WritesToStderr) {
  ASSERT_TRUE(Configure("INFO", "server").ok());
  ::testing::internal::CaptureStderr();
  spdlog::info("hello {}", 42);
  spdlog::debug("hidden");
  spdlog::default_logger()->flush();
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, HasSubstr("[server] hello 42"));
  EXPECT_THAT(out, HasSubstr("info"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hidden")));
}

TEST(LoggingTest, RejectsUnknownLevel) {
  auto s = Configure("LOUD", "server");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("\"LOUD\""));
}

}  // namespace
}  // namespace spirecvm::logging
