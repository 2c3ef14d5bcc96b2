// spire-server logger get|set|reset against a fake Logger service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"

namespace spirecvm::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeSpireServer;
using testing::RunOn;

TEST(LoggerCliTest, GetSetResetAsSpire) {
  FakeSpireServer srv;
  auto r = RunOn(srv, LoggerGet, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Logger Level : info\nLaunch Level : info\n\n");
  r = RunOn(srv, LoggerSet, {"-level", "WARN"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Logger Level : warning\nLaunch Level : info\n\n");
  r = RunOn(srv, LoggerSet, {"-level", "debug", "-output", "json"});
  EXPECT_EQ(r.out, "{\"current_level\":\"DEBUG\",\"launch_level\":\"INFO\"}\n");
  EXPECT_THAT(srv.logger.sets, ElementsAre(stypes::WARN, stypes::DEBUG));
  r = RunOn(srv, LoggerReset, {});
  EXPECT_EQ(r.out, "Logger Level : info\nLaunch Level : info\n\n");
}

TEST(LoggerCliTest, BadLevelsAndServerErrors) {
  FakeSpireServer srv;
  EXPECT_EQ(RunOn(srv, LoggerSet, {}).err, "Error: a value (-level) must be set\n");
  EXPECT_EQ(RunOn(srv, LoggerSet, {"-level", "loud"}).err, "Error: the value \"loud\" is not a valid setting\n");
  EXPECT_TRUE(srv.logger.sets.empty());
  srv.logger.fail_with = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not here");
  EXPECT_EQ(RunOn(srv, LoggerGet, {}).err,
            "Error: error fetching logger: rpc error: code = Unimplemented desc = not here\n");
  EXPECT_EQ(RunOn(srv, LoggerReset, {}).err,
            "Error: failed to reset logger: rpc error: code = Unimplemented desc = not here\n");
  EXPECT_EQ(RunOn(srv, LoggerSet, {"-level", "info"}).err,
            "Error: failed to set log level: rpc error: code = Unimplemented desc = not here\n");
}

}  // namespace
}  // namespace spirecvm::cli
