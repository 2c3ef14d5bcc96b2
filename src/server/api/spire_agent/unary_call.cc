#include "server/api/spire_agent/unary_call.h"

#include <grpcpp/alarm.h>

#include <chrono>
#include <memory>
#include <utility>

namespace spirecvm::server::spireagent {
namespace {

void Dispatch(grpc::ServerUnaryReactor* reactor, RunOn where, WorkerPool* pool, std::function<grpc::Status()> body) {
  if (where == RunOn::kCallbackThread || pool == nullptr) {
    reactor->Finish(body());
    return;
  }
  if (!pool->Submit([reactor, body = std::move(body)] { reactor->Finish(body()); })) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server busy: the queue of this API's blocking calls is full"));
  }
}

// A call waiting for its rate-limit reservation; deletes itself when the alarm fires (gRPC keeps the alarm's state
// alive until its callback returns).
struct Waiting {
  grpc::ServerUnaryReactor* reactor;
  RunOn where;
  WorkerPool* pool;
  std::function<grpc::Status()> body;
  grpc::Alarm alarm;
};

}  // namespace

grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, RunOn where, WorkerPool* pool, absl::Duration wait,
                                   std::function<grpc::Status()> body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (wait <= absl::ZeroDuration()) {
    Dispatch(reactor, where, pool, std::move(body));
    return reactor;
  }
  auto* w = new Waiting{reactor, where, pool, std::move(body), {}};
  w->alarm.Set(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(wait), [w](bool ok) {
    std::unique_ptr<Waiting> own(w);
    if (!ok) {
      own->reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting for the rate limit"));
      return;
    }
    Dispatch(own->reactor, own->where, own->pool, std::move(own->body));
  });
  return reactor;
}

}  // namespace spirecvm::server::spireagent
