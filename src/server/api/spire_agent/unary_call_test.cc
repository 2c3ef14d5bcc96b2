// RunUnary: where a unary method's body runs (the callback thread, the blocking pool), the pool's full queue, and the
// rate-limit wait on an alarm.
#include "server/api/spire_agent/unary_call.h"

#include <atomic>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "server/api/spire_agent/test_fixture.h"

namespace spirecvm::server::spireagent {
namespace {

TEST(UnaryCallTest, OnTheCallbackThreadTheCallFinishesBeforeRunUnaryReturns) {
  std::thread::id ran_on;
  grpc::CallbackServerContext ctx;
  std::optional<grpc::Status> finished;
  grpc::testing::DefaultReactorTestPeer peer(&ctx, [&](grpc::Status s) { finished = s; });
  RunUnary(&ctx, RunOn::kCallbackThread, nullptr, absl::ZeroDuration(), [&] {
    ran_on = std::this_thread::get_id();
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "entry not found");
  });
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(finished->error_message(), "entry not found");
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(UnaryCallTest, OnThePoolTheBodyRunsOnAPoolThread) {
  WorkerPool pool(1);
  std::thread::id ran_on;
  auto st = CallUnary([&](auto* ctx) {
    return RunUnary(ctx, RunOn::kBlockingPool, &pool, absl::ZeroDuration(), [&] {
      ran_on = std::this_thread::get_id();
      return grpc::Status::OK;
    });
  });
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(ran_on, std::thread::id());
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(UnaryCallTest, AFullPoolQueueIsResourceExhaustedAndTheBodyNeverRuns) {
  WorkerPool pool(1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.Submit([&] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();      // the one worker is busy
  ASSERT_TRUE(pool.Submit([] {}));  // and the one queue slot taken
  std::atomic<bool> ran{false};
  auto st = CallUnary([&](auto* ctx) {
    return RunUnary(ctx, RunOn::kBlockingPool, &pool, absl::ZeroDuration(), [&] {
      ran = true;
      return grpc::Status::OK;
    });
  });
  release.set_value();
  pool.Stop();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("blocking calls is full"), std::string::npos) << st.error_message();
  EXPECT_FALSE(ran.load());
}

// A rate-limit wait is an alarm: RunUnary returns at once, the body runs later on another thread.
TEST(UnaryCallTest, AfterAWaitTheBodyRunsFromTheAlarmNotTheCallingThread) {
  for (RunOn where : {RunOn::kCallbackThread, RunOn::kBlockingPool}) {
    WorkerPool pool(1);
    std::atomic<bool> ran{false};
    std::thread::id ran_on;
    grpc::CallbackServerContext ctx;
    grpc::testing::DefaultReactorTestPeer peer(&ctx);
    RunUnary(&ctx, where, &pool, absl::Seconds(1), [&] {
      ran = true;
      ran_on = std::this_thread::get_id();
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "x");
    });
    EXPECT_FALSE(ran.load()) << "the body waits for the reservation";
    grpc::Status st = WaitFinished(peer);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_TRUE(ran.load());
    EXPECT_NE(ran_on, std::this_thread::get_id());
  }
}

}  // namespace
}  // namespace spirecvm::server::spireagent
