#include "agent/sds/sds_service.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/encoding.h"
#include "common/grpc_status.h"
#include "crypto/keys.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::sds {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

namespace {

const grpc::Status kBusy(grpc::StatusCode::RESOURCE_EXHAUSTED, "Workload API is busy (work queue full); retry");

// True when the requested resource names differ as sets of names.
bool NamesChanged(const google::protobuf::RepeatedPtrField<std::string>& before,
                  const google::protobuf::RepeatedPtrField<std::string>& after) {
  if (before.size() != after.size()) return true;
  for (const std::string& n : after) {
    if (std::find(before.begin(), before.end(), n) == before.end()) return true;
  }
  return false;
}

// One StreamSecrets call. Requests are read continuously; the cache subscription (after attestation on the worker
// pool) feeds workload views. Each view bumps the version; an answer is sent for every new view once something was
// requested, and for every request whose resource names changed. At most one write is in flight: a newer answer
// replaces a queued one, and only the newest nonce is accepted back.
class StreamReactor final : public grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse> {
 public:
  StreamReactor(SdsService* svc, grpc::CallbackServerContext* ctx)
      : svc_(svc), peer_(ctx->peer()), caller_(svc->workload().LookupCaller(peer_)) {}

  void Begin() {
    if (caller_.ok()) {
      if (!svc_->workload().streams().Acquire(caller_->uid)) {
        Started(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat("too many open Workload API streams for uid ", caller_->uid, " (max ",
                                          svc_->workload().deps().max_streams_per_uid, ")")));
        return;
      }
      holds_slot_ = true;
    }
    StartRead(&in_);
    if (!svc_->workload().deps().pool->Submit([this] { Start(); })) Started(kBusy);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client closed its side (or the call ended): SPIRE ends the stream without error.
      FinishOnce(grpc::Status::OK);
      return;
    }
    DiscoveryRequest req = std::move(in_);
    in_.Clear();
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finished_) return;
    }
    StartRead(&in_);
    HandleRequest(std::move(req));
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> l(mu_);
    if (!ok) {
      writing_ = false;
      l.unlock();
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    if (finish_after_write_.has_value()) {
      writing_ = false;
      grpc::Status st = *finish_after_write_;
      finish_after_write_.reset();
      l.unlock();
      FinishOnce(st);
      return;
    }
    if (!pending_.has_value()) {
      writing_ = false;
      return;
    }
    current_ = std::move(*pending_);
    pending_.reset();
    l.unlock();
    StartWrite(&current_);
  }

  void OnCancel() override { FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    if (sub_) sub_->Cancel();
    if (holds_slot_) svc_->workload().streams().Release(caller_->uid);
    delete this;
  }

 private:
  void Start() {
    auto selectors = svc_->workload().AttestCaller(caller_);
    if (!selectors.ok()) {
      spdlog::error("SDS: failed to attest the workload {}: {}", peer_, selectors.status().ToString());
      Started(ToGrpc(selectors.status()));
      return;
    }
    WorkloadUpdate initial;
    sub_ = svc_->workload().deps().cache->Subscribe(
        *selectors, [this](const WorkloadUpdate& u) { OnUpdate(u); }, &initial);
    // The cache only pushes views with an identity; SPIRE serves bundles to a workload without one too.
    if (!initial.has_identity) OnUpdate(initial);
    Started(std::nullopt);
  }

  // Ends the start phase: from now on OnCancel may finish the call (before, the pool task still used `this`).
  void Started(std::optional<grpc::Status> finish) {
    bool cancel;
    {
      std::lock_guard<std::mutex> l(mu_);
      starting_ = false;
      cancel = cancel_requested_.has_value();
      if (!finish.has_value() && cancel) finish = *cancel_requested_;
    }
    if (finish.has_value()) FinishOnce(*finish);
  }

  void OnUpdate(const WorkloadUpdate& u) {
    std::unique_lock<std::mutex> l(mu_);
    if (finished_ || finish_after_write_.has_value()) return;
    if (have_state_ && u.version < state_version_) return;  // never go back to an older view
    state_ = svc_->StateOf(u);
    state_version_ = u.version;
    have_state_ = true;
    ++version_counter_;
    if (!last_req_.has_value()) return;  // nothing requested yet
    SendLocked(l);
  }

  void HandleRequest(DiscoveryRequest req) {
    std::unique_lock<std::mutex> l(mu_);
    if (finished_ || finish_after_write_.has_value()) return;
    if (req.has_error_detail()) {
      spdlog::error("SDS: Envoy reported errors applying secrets [{}]: {}", absl::StrJoin(req.resource_names(), ", "),
                    req.error_detail().message());
    }
    if (!last_nonce_.empty()) {
      // A reply to an answer that is not the newest one is stale: ignored.
      if (!crypto::ConstantTimeEquals(last_nonce_, req.response_nonce())) {
        spdlog::warn("SDS: received unexpected nonce \"{}\" (want \"{}\"); ignoring request", req.response_nonce(),
                     last_nonce_);
        return;
      }
      if (req.version_info().empty() || req.version_info() != std::to_string(version_counter_)) {
        // A NACK: the client keeps its previous secrets. It may still change the names, so go on.
        spdlog::error("SDS: client rejected version {} and rolled back to \"{}\"", version_counter_,
                      req.version_info());
      }
    }
    // A request without node information keeps the node of the previous one.
    if (req.has_node()) {
      last_node_ = req.node();
    } else if (last_node_.has_value()) {
      *req.mutable_node() = *last_node_;
    }
    const bool send = !last_req_.has_value() || NamesChanged(last_req_->resource_names(), req.resource_names());
    last_req_ = std::move(req);
    if (!send || !have_state_) return;  // without a view yet, the first view answers
    SendLocked(l);
  }

  // Requires mu_ (held through `l`; released on return).
  void SendLocked(std::unique_lock<std::mutex>& l) {
    const std::string nonce = HexEncode(svc_->deps().random->Bytes(4));
    auto resp = BuildSecretsResponse(svc_->deps().options, *last_req_, state_, std::to_string(version_counter_), nonce);
    if (!resp.ok()) {
      spdlog::error("SDS: error building StreamSecrets response for {}: {}", peer_, resp.status().ToString());
      l.unlock();
      FinishOnce(ToGrpc(resp.status()));
      return;
    }
    last_nonce_ = nonce;
    spdlog::debug("SDS: sending {} secret(s), version {}, nonce {}", resp->resources_size(), resp->version_info(),
                  nonce);
    if (writing_) {
      pending_ = std::move(*resp);
      return;
    }
    writing_ = true;
    current_ = std::move(*resp);
    l.unlock();
    StartWrite(&current_);
  }

  void FinishOnce(const grpc::Status& st) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finished_) return;
      if (starting_) {
        if (!cancel_requested_.has_value()) cancel_requested_ = st;
        return;
      }
      if (writing_) {
        if (!finish_after_write_.has_value()) finish_after_write_ = st;
        return;
      }
      finished_ = true;
    }
    Finish(st);
  }

  SdsService* svc_;
  std::string peer_;
  absl::StatusOr<CallerInfo> caller_;
  std::shared_ptr<Subscription> sub_;  // set by Start (pool), read by OnDone (which runs after Start ended)
  DiscoveryRequest in_;

  std::mutex mu_;
  bool starting_ = true;
  bool holds_slot_ = false;
  std::optional<grpc::Status> cancel_requested_;  // a finish asked for while starting
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_after_write_;
  DiscoveryResponse current_;
  std::optional<DiscoveryResponse> pending_;
  // xDS state (under mu_).
  SdsState state_;
  bool have_state_ = false;
  uint64_t state_version_ = 0;
  int64_t version_counter_ = 0;
  std::string last_nonce_;
  std::optional<DiscoveryRequest> last_req_;
  std::optional<envoy::config::core::v3::Node> last_node_;
};

// SPIRE does not implement incremental SDS: the call ends at once with Unimplemented.
class DeltaReactor final : public grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
 public:
  DeltaReactor() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "Method is not implemented")); }
  void OnDone() override { delete this; }
};

}  // namespace

SdsState SdsService::StateOf(const WorkloadUpdate& u) const {
  SdsState s;
  s.svids = u.svids;
  if (u.bundle) s.bundle = std::shared_ptr<const spiffe::Bundle>(u.bundle, &u.bundle->bundle);
  if (deps_.federated) s.federated = deps_.federated(u);
  return s;
}

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* SdsService::StreamSecrets(
    grpc::CallbackServerContext* ctx) {
  auto* r = new StreamReactor(this, ctx);
  r->Begin();
  return r;
}

grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* SdsService::DeltaSecrets(
    grpc::CallbackServerContext*) {
  return new DeltaReactor();
}

grpc::ServerUnaryReactor* SdsService::FetchSecrets(grpc::CallbackServerContext* ctx, const DiscoveryRequest* req,
                                                   DiscoveryResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<CallerInfo> caller = workload_->LookupCaller(ctx->peer());
  std::string peer = ctx->peer();
  const bool queued = workload_->deps().pool->Submit([this, reactor, caller, peer, req, resp] {
    auto selectors = workload_->AttestCaller(caller);
    if (!selectors.ok()) {
      spdlog::error("SDS: failed to attest the workload {}: {}", peer, selectors.status().ToString());
      reactor->Finish(ToGrpc(selectors.status()));
      return;
    }
    const WorkloadUpdate u = workload_->deps().cache->Fetch(*selectors);
    auto built = BuildSecretsResponse(deps_.options, *req, StateOf(u), "", "");
    if (!built.ok()) {
      spdlog::error("SDS: error building FetchSecrets response for {}: {}", peer, built.status().ToString());
      reactor->Finish(ToGrpc(built.status()));
      return;
    }
    *resp = std::move(*built);
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) reactor->Finish(kBusy);
  return reactor;
}

}  // namespace spirecvm::agent::sds
