#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"
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

TEST(LoggingTest, JsonFormatIsOneObjectPerLineWithSpireFieldNames) {
  ASSERT_TRUE(Configure(Options{.level = "debug", .format = "JSON", .file = ""}, "server").ok());
  ::testing::internal::CaptureStderr();
  spdlog::warn("two\nlines \"quoted\" \xff");
  spdlog::debug("second");
  spdlog::default_logger()->flush();
  std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  std::istringstream lines(out);
  std::string line;
  std::getline(lines, line);
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << line;
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["subsystem_name"], "server");
  EXPECT_THAT(j["msg"].get<std::string>(), HasSubstr("two\nlines \"quoted\""));
  ASSERT_TRUE(j["time"].is_string());
  EXPECT_EQ(j["time"].get<std::string>()[10], 'T');
  std::getline(lines, line);
  j = nlohmann::json::parse(line, nullptr, false);
  EXPECT_EQ(j["level"], "debug");
  EXPECT_EQ(j["msg"], "second");
  ASSERT_TRUE(Configure("INFO", "server").ok());
}

TEST(LoggingTest, LogFileIsAppendedTo) {
  const std::string path = ::testing::TempDir() + "/logging_test_file.log";
  std::filesystem::remove(path);
  { std::ofstream(path) << "earlier line\n"; }
  ASSERT_TRUE(Configure(Options{.level = "info", .format = "text", .file = path}, "agent").ok());
  spdlog::info("to the file");
  ASSERT_TRUE(Configure("INFO", "agent").ok());  // drops (and closes) the file logger
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_THAT(got.str(), HasSubstr("earlier line\n"));
  EXPECT_THAT(got.str(), HasSubstr("[agent] to the file"));
  std::filesystem::remove(path);
}

TEST(LoggingTest, RejectsUnknownFormatAndUnopenableFile) {
  auto s = Configure(Options{.level = "INFO", .format = "xml", .file = ""}, "server");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("log format \"xml\" is not one of text, json"));
  s = Configure(Options{.level = "INFO", .format = "text", .file = "/nonexistent-dir/x.log"}, "server");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("log file \"/nonexistent-dir/x.log\" cannot be opened"));
  EXPECT_TRUE(CheckFormat("Text").ok());
}

}  // namespace
}  // namespace spirecvm::logging
