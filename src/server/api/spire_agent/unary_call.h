// How the unary methods of SPIRE's agent-facing services run. Every method of the agent endpoint (and, through
// api/spire/on_pool.h, of the admin endpoint) is on gRPC's callback API, so gRPC starts no synchronous-server
// pollers beside its callback threads (with both, a call's bytes were read on one thread and its handler ran on
// another; docs/benchmarks.md, "No synchronous pollers in the server"). A method checks its caller and request on
// gRPC's callback thread, then finishes with what its body returns:
//  - on the callback thread, for bounded CPU work and datastore reads (bundles, authorized entries, SVID signing);
//  - on the blocking pool (AgentApiDeps::blocking), for datastore writes and the admin services (RenewAgent,
//    PublishJWTAuthority, NewDownstreamX509CA, admin callers' methods), so a commit's fsync never holds a callback
//    thread;
// in both cases after the wait a rate-limit reservation asks for (ReserveSigningTokens), on a gRPC alarm rather
// than a sleeping thread (bounded by attestation_step_timeout; a server shutting down waits for such a call).
// Thread-safety: FinishUnary and RunUnary may be called from any thread, for different calls at once; the pool is
// thread-safe.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/time/time.h"
#include "common/worker_pool.h"

namespace spirecvm::server::spireagent {

// Where a method's body runs.
enum class RunOn { kCallbackThread, kBlockingPool };

// Finishes the call with `status` now.
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* ctx, const grpc::Status& status);

// Finishes the call with body()'s status, run after `wait` on `where` (kBlockingPool with a null `pool`: on the
// callback thread, as unit tests build the services). The request and response stay valid until then (gRPC keeps
// them until Finish). RESOURCE_EXHAUSTED, without running the body, when the pool's queue is full; CANCELLED when
// the wait's alarm is cancelled.
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, RunOn where, WorkerPool* pool, absl::Duration wait,
                                   std::function<grpc::Status()> body);

}  // namespace spirecvm::server::spireagent

// A generic lambda that calls the synchronous admin-service method `Method` (api/spire) from a callback-API call:
// with the call's context when the service offers an overload taking grpc::ServerContextBase* (GetAgent sets
// trailing metadata), else with no context (the others never read it). Used by the agent endpoint's admin forwards
// (caller.h) and the admin socket's adapters (api/spire/on_pool.h).
#define SPIREAPI_CALL_SYNC(Method, ctx, req, resp)                                                 \
  [ctx, req, resp](auto& s) {                                                                      \
    if constexpr (requires { s.Method(static_cast<grpc::ServerContextBase*>(ctx), req, resp); }) { \
      return s.Method(static_cast<grpc::ServerContextBase*>(ctx), req, resp);                      \
    } else {                                                                                       \
      return s.Method(static_cast<grpc::ServerContext*>(nullptr), req, resp);                      \
    }                                                                                              \
  }
