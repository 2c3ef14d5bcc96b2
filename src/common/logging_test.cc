#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

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

// Agent-controlled text (an attestor type, an IID field, a SPIFFE ID in an error) must not forge a log line or
// reach the terminal as an escape sequence.
TEST(LoggingTest, AgentTextCannotForgeLines) {
  ASSERT_TRUE(Configure("INFO", "server").ok());
  ::testing::internal::CaptureStderr();
  const std::string hostile =
      "aws_iid\n2026-01-01T00:00:00.000+0000 info [server] agent attested: spiffe://x\x1b[2J\\n";
  spdlog::warn("node attestation ({}) failed", hostile);
  spdlog::default_logger()->flush();
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_THAT(out, HasSubstr("aws_iid\\n2026-01-01"));
  EXPECT_THAT(out, HasSubstr("\\x1b[2J\\\\n) failed"));
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(EscapeForLog("a\tb\rc\x7f"), "a\\tb\\rc\\x7f");
}

TEST(LoggingTest, RejectsUnknownLevel) {
  auto s = Configure("LOUD", "server");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("\"LOUD\""));
}

}  // namespace
}  // namespace spirecvm::logging
