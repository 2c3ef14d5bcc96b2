// AttestAgent on gRPC's callback API. A stream costs no thread until its first message (the params) arrives, every
// step (that read, each challenge answer, each write) has a deadline enforced by a StepWatchdog, SPIRE's per-IP
// attestation rate limit is waited for without a thread, and at most max_concurrent_attestations attestations run
// at once (each on its own thread, blocking in the attestor; threads are reused, common/thread_cache.h). So idle or
// stalled streams cannot starve real agents. The result goes out with the OK status in one step.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "common/thread_cache.h"
#include "server/api/agent_api_deps.h"
#include "server/api/rate_limiter.h"
#include "server/api/spire_agent/agent_service.h"
#include "server/api/step_watchdog.h"

namespace spirecvm::server::spireagent {

// Shared by every AttestAgent call of one service; outlives them (the destructor waits for running attestations).
class AttestCalls {
 public:
  AttestCalls(AgentApiDeps deps, const AgentApiLimits& limits);
  ~AttestCalls();
  grpc::ServerBidiReactor<agentv1::AttestAgentRequest, agentv1::AttestAgentResponse>* Start(
      grpc::CallbackServerContext* ctx);

  const AgentApiDeps& deps() const { return deps_; }
  const AgentApiLimits& limits() const { return limits_; }
  StepWatchdog& watchdog() { return watchdog_; }
  // A running-attestation slot; false when max_concurrent_attestations run already.
  bool TryEnter();
  void Leave();
  // Runs an attestation (which holds a slot) on a thread of its own.
  void RunAttestation(std::function<void()> fn) { threads_.Run(std::move(fn)); }

 private:
  AgentApiDeps deps_;
  const AgentApiLimits& limits_;
  StepWatchdog watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
  ThreadCache threads_;  // last: destroyed (joined) first
};

}  // namespace spirecvm::server::spireagent
