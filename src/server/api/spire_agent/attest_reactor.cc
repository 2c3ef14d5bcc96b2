#include "server/api/spire_agent/attest_reactor.h"

#include <grpcpp/alarm.h>

#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireagent {
namespace {

using Req = agentv1::AttestAgentRequest;
using Resp = agentv1::AttestAgentResponse;

// The call's context for the watchdog: cancelled only while the call is alive (OnDone clears it). Recursive, in case
// TryCancel runs a reaction inline that ends the call.
struct CancelToken {
  std::recursive_mutex mu;
  grpc::CallbackServerContext* ctx;
  void Cancel() {
    std::lock_guard<std::recursive_mutex> l(mu);
    if (ctx != nullptr) ctx->TryCancel();
  }
  void Clear() {
    std::lock_guard<std::recursive_mutex> l(mu);
    ctx = nullptr;
  }
};

// Phases: kWaiting (rate limit) -> kFirstRead (no thread) -> kRunning (a thread runs AttestSpireAgent and blocks in
// Read/Write below, each bounded by the step deadline) -> the result with the OK status (StartWriteAndFinish), or
// Finish with the error.
class AttestReactor final : public grpc::ServerBidiReactor<Req, Resp>, public SpireAttestStream {
 public:
  AttestReactor(AttestCalls& calls, grpc::CallbackServerContext* ctx)
      : calls_(calls), ctx_(ctx), token_(std::make_shared<CancelToken>()) {
    token_->ctx = ctx;
  }

  void Begin() {
    const AgentApiLimits& lim = calls_.limits();
    absl::Duration wait = absl::ZeroDuration();
    if (lim.attestation != nullptr) {
      const std::string ip = PeerIp(ctx_->peer());
      if (!ip.empty()) {
        auto w = lim.attestation->Reserve(ip, 1, calls_.deps().clock.Now(), lim.step_timeout);
        if (!w.ok()) {
          Done(absl::ResourceExhaustedError(
              absl::StrCat("rejecting request due to attest agent rate limiting: ", w.status().message())));
          return;
        }
        wait = *w;
      }
    }
    if (wait > absl::ZeroDuration()) {
      // SPIRE waits for the token; so do we, on a timer rather than a thread.
      alarm_.Set(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(wait) + std::chrono::milliseconds(1),
                 [this](bool ok) {
                   if (ok) {
                     ReadFirst();
                   } else {
                     Done(absl::CancelledError("attestation cancelled while waiting for the rate limit"));
                   }
                 });
      return;
    }
    ReadFirst();
  }

  void OnReadDone(bool ok) override {
    calls_.watchdog().Disarm(step_);
    if (first_phase_) {
      first_phase_ = false;
      if (!ok) {
        Done(absl::InvalidArgumentError("attestation stream closed (or timed out) before the attestation parameters"));
        return;
      }
      first_pending_ = true;
      if (!calls_.TryEnter()) {
        Done(absl::ResourceExhaustedError("too many attestations in progress; retry later"));
        return;
      }
      calls_.RunAttestation([this] { Run(); });
      return;
    }
    Signal(ok);
  }
  void OnWriteDone(bool ok) override {
    calls_.watchdog().Disarm(step_);
    Signal(ok);
  }
  void OnCancel() override {}
  void OnDone() override {
    token_->Clear();
    calls_.watchdog().Disarm(step_);
    alarm_.Cancel();
    delete this;
  }

  // SpireAttestStream, on the attestation thread.
  bool Read(Req* req) override {
    if (first_pending_) {
      first_pending_ = false;
      *req = std::move(in_);
      return true;
    }
    Arm();
    StartRead(req);
    return Wait();
  }
  bool Write(const Resp& resp) override {
    out_ = resp;
    Arm();
    StartWrite(&out_);
    return Wait();
  }

 private:
  void ReadFirst() {
    Arm();
    StartRead(&in_);
  }
  void Arm() {
    step_ = calls_.watchdog().Arm([token = token_] { token->Cancel(); },
                                  calls_.deps().clock.Now() + calls_.limits().step_timeout);
  }
  void Signal(bool ok) {
    std::lock_guard<std::mutex> l(mu_);
    done_ = true;
    ok_ = ok;
    cv_.notify_one();
  }
  bool Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return done_; });
    done_ = false;
    return ok_;
  }
  void Run() {
    auto result = AttestSpireAgent(calls_.deps().Attestation(), *this);
    AttestCalls& calls = calls_;
    // `this` may be deleted once the call is finished.
    if (result.ok()) {
      Succeed(*std::move(result));
    } else {
      Done(result.status(), /*logged=*/true);
    }
    calls.Leave();
  }
  // The result and the OK status in one operation: no OnWriteDone, OnDone follows (the step deadline still holds).
  void Succeed(Resp resp) {
    calls_.deps().metrics.attestations_ok++;
    out_ = std::move(resp);
    Arm();
    StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
  }
  // `logged`: AttestSpireAgent already wrote the refusal line; the reactor logs those it decides itself.
  void Done(const absl::Status& st, bool logged = false) {
    if (!st.ok() && !logged) {
      spdlog::warn("node attestation (?) failed: {} (caller {})", st.ToString(), ctx_->peer());
    }
    (st.ok() ? calls_.deps().metrics.attestations_ok : calls_.deps().metrics.attestations_failed)++;
    Finish(ToGrpc(st));
  }

  AttestCalls& calls_;
  grpc::CallbackServerContext* ctx_;
  std::shared_ptr<CancelToken> token_;
  grpc::Alarm alarm_;
  uint64_t step_ = 0;
  bool first_phase_ = true;
  bool first_pending_ = false;
  Req in_;
  Resp out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool ok_ = false;
};

}  // namespace

AttestCalls::AttestCalls(AgentApiDeps deps, const AgentApiLimits& limits)
    : deps_(deps), limits_(limits), watchdog_(deps.clock) {}

AttestCalls::~AttestCalls() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return running_ == 0; });
}

bool AttestCalls::TryEnter() {
  std::lock_guard<std::mutex> l(mu_);
  if (running_ >= limits_.max_concurrent_attestations) return false;
  ++running_;
  return true;
}

void AttestCalls::Leave() {
  std::lock_guard<std::mutex> l(mu_);
  --running_;
  cv_.notify_all();
}

grpc::ServerBidiReactor<Req, Resp>* AttestCalls::Start(grpc::CallbackServerContext* ctx) {
  auto* r = new AttestReactor(*this, ctx);
  r->Begin();
  return r;
}

}  // namespace spirecvm::server::spireagent
