#include "agent/workload/workload_api.h"

#include <google/protobuf/util/json_util.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "agent/workload/caller_attestation.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "spdlog/spdlog.h"
#include "spiffe/bundle.h"
#include "spiffe/jwt_svid.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::agent {

bool HasSecurityHeader(const grpc::CallbackServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto range = md.equal_range(kSecurityHeader);
  for (auto it = range.first; it != range.second; ++it) {
    if (std::string_view(it->second.data(), it->second.size()) == "true") return true;
  }
  return false;
}

namespace {

const grpc::Status kMissingHeader(grpc::StatusCode::INVALID_ARGUMENT, "security header missing from request");
const grpc::Status kNoIdentity(grpc::StatusCode::PERMISSION_DENIED, "no identity issued");
const grpc::Status kBusy(grpc::StatusCode::RESOURCE_EXHAUSTED, "Workload API is busy (work queue full); retry");

// Every refusal is one log line naming the call, the caller's connection and the reason (the logger escapes the
// caller-controlled text); a cancelled stream is the caller leaving, not a refusal.
grpc::Status Logged(std::string_view method, std::string_view peer, grpc::Status st) {
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    spdlog::warn("workload API: {} from {} refused: {}: {}", method, peer,
                 absl::StatusCodeToString(static_cast<absl::StatusCode>(st.error_code())), st.error_message());
  }
  return st;
}

// A server stream fed by a cache subscription. Build() turns a cache view into the next message (or nothing when
// this stream's part of the view did not change). At most one write is in flight; a newer message replaces a
// queued one (every message is the full state, so intermediate ones may be skipped).
template <typename Resp>
class WatchReactor : public grpc::ServerWriteReactor<Resp> {
 public:
  WatchReactor(WorkloadApiService* svc, grpc::CallbackServerContext* ctx)
      : svc_(svc), peer_(ctx->peer()), caller_(svc->LookupCaller(peer_)) {}

  // Called once the most-derived object exists (the pool task calls the virtual Build()).
  void Begin(grpc::CallbackServerContext* ctx) {
    if (!HasSecurityHeader(*ctx)) {
      starting_ = false;
      FinishOnce(kMissingHeader);
      return;
    }
    if (caller_.ok()) {
      if (!svc_->streams().Acquire(caller_->uid)) {
        starting_ = false;
        FinishOnce(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                absl::StrCat("too many open Workload API streams for uid ", caller_->uid, " (max ",
                                             svc_->deps().max_streams_per_uid, ")")));
        return;
      }
      holds_slot_ = true;
    }
    if (!svc_->deps().pool->Submit([this] { Start(); })) {
      starting_ = false;
      FinishOnce(kBusy);
    }
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
    this->StartWrite(&current_);
  }

  void OnCancel() override { FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    if (sub_) sub_->Cancel();
    if (holds_slot_) svc_->streams().Release(caller_->uid);
    delete this;
  }

 protected:
  virtual std::optional<Resp> Build(const WorkloadUpdate& u) = 0;

 private:
  void Start() {
    auto selectors = svc_->AttestCaller(caller_);
    if (!selectors.ok()) {
      spdlog::warn("workload API: attestation of {} failed: {}", peer_, selectors.status().ToString());
      Started(ToGrpc(selectors.status()));
      return;
    }
    WorkloadUpdate initial;
    sub_ = svc_->deps().cache->Subscribe(
        *selectors, [this](const WorkloadUpdate& u) { OnUpdate(u); }, &initial);
    Started(initial.has_identity ? std::optional<grpc::Status>() : std::optional<grpc::Status>(kNoIdentity));
  }

  // Ends the start phase: from now on OnCancel may finish the call (before, the pool task still used `this`).
  void Started(std::optional<grpc::Status> finish) {
    bool cancel;
    {
      std::lock_guard<std::mutex> l(mu_);
      starting_ = false;
      cancel = cancel_requested_;
    }
    if (finish.has_value()) {
      FinishOnce(*finish);
    } else if (cancel) {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    }
  }

  void OnUpdate(const WorkloadUpdate& u) {
    if (!u.has_identity) {
      FinishOnce(kNoIdentity);
      return;
    }
    std::optional<Resp> msg = Build(u);
    if (!msg.has_value()) return;
    std::unique_lock<std::mutex> l(mu_);
    if (finished_ || finish_after_write_.has_value()) return;
    if (writing_) {
      pending_ = std::move(*msg);
      return;
    }
    writing_ = true;
    current_ = std::move(*msg);
    l.unlock();
    this->StartWrite(&current_);
  }

  void FinishOnce(const grpc::Status& st) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finished_) return;
      if (starting_) {
        cancel_requested_ = true;
        return;
      }
      if (writing_) {
        if (!finish_after_write_.has_value()) finish_after_write_ = st;
        return;
      }
      finished_ = true;
    }
    this->Finish(Logged("stream", peer_, st));
  }

  WorkloadApiService* svc_;
  std::string peer_;
  absl::StatusOr<CallerInfo> caller_;
  std::shared_ptr<Subscription> sub_;
  std::mutex mu_;
  bool starting_ = true;
  bool holds_slot_ = false;  // a StreamLimiter slot for caller_->uid
  bool cancel_requested_ = false;
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_after_write_;
  Resp current_;
  std::optional<Resp> pending_;
};

class X509SvidReactor final : public WatchReactor<X509SVIDResponse> {
 public:
  using WatchReactor::WatchReactor;

 protected:
  std::optional<X509SVIDResponse> Build(const WorkloadUpdate& u) override {
    if (sent_ && u.svids_fingerprint == last_svids_ && u.bundle_fingerprint == last_bundle_) return std::nullopt;
    sent_ = true;
    last_svids_ = u.svids_fingerprint;
    last_bundle_ = u.bundle_fingerprint;
    X509SVIDResponse r;
    for (const auto& s : u.svids) {
      X509SVID* out = r.add_svids();
      out->set_spiffe_id(s->spiffe_id);
      std::string chain;
      for (const auto& c : s->chain_der) chain += c;
      out->set_x509_svid(std::move(chain));
      out->set_x509_svid_key(s->key_pkcs8_der);
      if (u.bundle) out->set_bundle(u.bundle->x509_der_concat);
      out->set_hint(s->hint);
    }
    for (const auto& [td, view] : u.federated) {
      (*r.mutable_federated_bundles())[view->bundle.trust_domain.IdString()] = view->x509_der_concat;
    }
    return r;
  }

 private:
  bool sent_ = false;
  uint64_t last_svids_ = 0, last_bundle_ = 0;
};

class X509BundlesReactor final : public WatchReactor<X509BundlesResponse> {
 public:
  using WatchReactor::WatchReactor;

 protected:
  std::optional<X509BundlesResponse> Build(const WorkloadUpdate& u) override {
    if (!u.bundle || (sent_ && u.bundle_fingerprint == last_bundle_)) return std::nullopt;
    sent_ = true;
    last_bundle_ = u.bundle_fingerprint;
    X509BundlesResponse r;
    (*r.mutable_bundles())[u.bundle->bundle.trust_domain.IdString()] = u.bundle->x509_der_concat;
    for (const auto& [td, view] : u.federated) {
      (*r.mutable_bundles())[view->bundle.trust_domain.IdString()] = view->x509_der_concat;
    }
    return r;
  }

 private:
  bool sent_ = false;
  uint64_t last_bundle_ = 0;
};

class JwtBundlesReactor final : public WatchReactor<JWTBundlesResponse> {
 public:
  using WatchReactor::WatchReactor;

 protected:
  std::optional<JWTBundlesResponse> Build(const WorkloadUpdate& u) override {
    if (!u.bundle || (sent_ && u.bundle_fingerprint == last_bundle_)) return std::nullopt;
    sent_ = true;
    last_bundle_ = u.bundle_fingerprint;
    JWTBundlesResponse r;
    (*r.mutable_bundles())[u.bundle->bundle.trust_domain.IdString()] = u.bundle->jwks_json;
    for (const auto& [td, view] : u.federated) {
      (*r.mutable_bundles())[view->bundle.trust_domain.IdString()] = view->jwks_json;
    }
    return r;
  }

 private:
  bool sent_ = false;
  uint64_t last_bundle_ = 0;
};

}  // namespace

absl::StatusOr<CallerInfo> WorkloadApiService::LookupCaller(const std::string& peer) const {
  std::optional<int> fd = PeerRegistry::FdFromPeer(peer);
  if (!fd.has_value()) return absl::InternalError(absl::StrCat("unexpected peer address \"", peer, "\""));
  std::optional<CallerInfo> caller = deps_.peers->Get(*fd);
  if (!caller.has_value()) return absl::InternalError("no credentials recorded for this connection");
  return *caller;
}

absl::StatusOr<std::vector<std::string>> WorkloadApiService::AttestCaller(const absl::StatusOr<CallerInfo>& caller) {
  if (!caller.ok()) return caller.status();
  return AttestProcess(*caller, *deps_.attestor, deps_.proc_root);
}

grpc::ServerWriteReactor<X509SVIDResponse>* WorkloadApiService::FetchX509SVID(grpc::CallbackServerContext* ctx,
                                                                              const X509SVIDRequest*) {
  auto* r = new X509SvidReactor(this, ctx);
  r->Begin(ctx);
  return r;
}

grpc::ServerWriteReactor<X509BundlesResponse>* WorkloadApiService::FetchX509Bundles(grpc::CallbackServerContext* ctx,
                                                                                    const X509BundlesRequest*) {
  auto* r = new X509BundlesReactor(this, ctx);
  r->Begin(ctx);
  return r;
}

grpc::ServerWriteReactor<JWTBundlesResponse>* WorkloadApiService::FetchJWTBundles(grpc::CallbackServerContext* ctx,
                                                                                  const JWTBundlesRequest*) {
  auto* r = new JwtBundlesReactor(this, ctx);
  r->Begin(ctx);
  return r;
}

grpc::ServerUnaryReactor* WorkloadApiService::FetchJWTSVID(grpc::CallbackServerContext* ctx, const JWTSVIDRequest* req,
                                                           JWTSVIDResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!HasSecurityHeader(*ctx)) {
    reactor->Finish(Logged("FetchJWTSVID", ctx->peer(), kMissingHeader));
    return reactor;
  }
  absl::StatusOr<CallerInfo> caller = LookupCaller(ctx->peer());
  if (!deps_.pool->Submit([this, reactor, caller, req, resp, peer = ctx->peer()] {
        reactor->Finish(Logged("FetchJWTSVID", peer, ToGrpc(DoFetchJwt(caller, *req, resp))));
      })) {
    reactor->Finish(kBusy);
  }
  return reactor;
}

absl::Status WorkloadApiService::DoFetchJwt(const absl::StatusOr<CallerInfo>& caller, const JWTSVIDRequest& req,
                                            JWTSVIDResponse* resp) {
  if (req.audience_size() == 0) return absl::InvalidArgumentError("audience must be specified");
  std::optional<spiffe::SpiffeId> want_id;
  if (!req.spiffe_id().empty()) {
    auto id = spiffe::SpiffeId::Parse(req.spiffe_id());
    if (!id.ok())
      return absl::InvalidArgumentError(absl::StrCat("invalid requested SPIFFE ID: ", id.status().message()));
    want_id = *id;
  }
  ASSIGN_OR_RETURN(auto selectors, AttestCaller(caller));
  std::vector<std::string> audience(req.audience().begin(), req.audience().end());
  auto entries = deps_.cache->MatchingEntries(selectors);
  bool any = false;
  for (const auto& e : entries) {
    if (want_id.has_value() && e.spiffe_id() != want_id->ToString()) continue;
    any = true;
    std::optional<JwtRecord> rec = deps_.cache->GetJwt(e.id(), audience);
    if (!rec.has_value()) {
      auto minted = deps_.minter->MintJwt(e, audience);
      if (!minted.ok()) {
        return absl::UnavailableError(absl::StrCat("could not fetch JWT-SVID: ", minted.status().message()));
      }
      deps_.cache->PutJwt(e.id(), audience, *minted);
      rec = *minted;
    }
    JWTSVID* out = resp->add_svids();
    out->set_spiffe_id(rec->spiffe_id);
    out->set_svid(rec->token);
    out->set_hint(e.hint());
  }
  if (!any) return absl::PermissionDeniedError("no identity issued");
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* WorkloadApiService::ValidateJWTSVID(grpc::CallbackServerContext* ctx,
                                                              const ValidateJWTSVIDRequest* req,
                                                              ValidateJWTSVIDResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!HasSecurityHeader(*ctx)) {
    reactor->Finish(Logged("ValidateJWTSVID", ctx->peer(), kMissingHeader));
    return reactor;
  }
  if (!deps_.pool->Submit([this, reactor, req, resp, peer = ctx->peer()] {
        reactor->Finish(Logged("ValidateJWTSVID", peer, ToGrpc(DoValidateJwt(*req, resp))));
      })) {
    reactor->Finish(kBusy);
  }
  return reactor;
}

absl::Status WorkloadApiService::DoValidateJwt(const ValidateJWTSVIDRequest& req, ValidateJWTSVIDResponse* resp) {
  if (req.audience().empty()) return absl::InvalidArgumentError("audience must be specified");
  if (req.svid().empty()) return absl::InvalidArgumentError("svid must be specified");
  auto unverified = spiffe::ParseJwtSvidInsecure(req.svid());
  if (!unverified.ok()) return absl::InvalidArgumentError(unverified.status().message());
  auto view = deps_.cache->bundle();
  if (view && !(unverified->sub.trust_domain() == view->bundle.trust_domain)) {
    // A token of a federated trust domain: the bundle the agent holds for it.
    auto federated = deps_.cache->federated_bundles();
    auto it = federated.find(unverified->sub.trust_domain().name());
    view = it == federated.end() ? nullptr : it->second;
  }
  if (!view) {
    return absl::InvalidArgumentError(
        absl::StrCat("no keys found for trust domain \"", unverified->sub.trust_domain().name(), "\""));
  }
  auto keys = spiffe::JwtKeysFromBundle(view->bundle);
  if (!keys.ok()) return absl::InternalError(keys.status().message());
  auto claims = spiffe::ValidateJwtSvid(req.svid(), *keys, req.audience(), deps_.clock->Now());
  if (!claims.ok()) return absl::InvalidArgumentError(claims.status().message());
  resp->set_spiffe_id(claims->sub.ToString());
  auto st = google::protobuf::util::JsonStringToMessage(claims->claims_json, resp->mutable_claims());
  if (!st.ok()) return absl::InternalError(absl::StrCat("claims: ", st.ToString()));
  return absl::OkStatus();
}

}  // namespace spirecvm::agent
