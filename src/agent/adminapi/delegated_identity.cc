#include "agent/adminapi/delegated_identity.h"

#include "absl/strings/str_cat.h"
#include "agent/adminapi/push_stream.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::agent::adminapi {
namespace {

void SetId(const std::string& spiffe_id, ::spire::api::types::SPIFFEID* out) {
  absl::StatusOr<spiffe::SpiffeId> id = spiffe::SpiffeId::Parse(spiffe_id);
  if (!id.ok()) return;  // entries are validated when synced; an unparsable one is left without an ID
  out->set_trust_domain(id->trust_domain().name());
  out->set_path(id->path());
}

// The part every stream shares: the caller is authorized on the pool, then the stream subscribes to the cache and
// re-checks the caller's authorization before each message.
template <typename Resp>
class DelegatedStream : public PushStream<Resp> {
 public:
  DelegatedStream(DelegatedIdentityService* svc, grpc::CallbackServerContext* ctx)
      : svc_(svc), caller_(svc->LookupCaller(ctx->peer())) {}

 protected:
  // Subscribe with the selectors it wants and push the first message; or a status to end the call with.
  virtual std::optional<grpc::Status> Subscribe() = 0;

  std::optional<grpc::Status> Start() final {
    absl::StatusOr<Selectors> caller = authorizer().AuthorizeCaller(caller_);
    if (!caller.ok()) return ToGrpc(caller.status());
    caller_selectors_ = std::move(*caller);
    return Subscribe();
  }

  // The caller's authorization, checked again against the entries held now.
  absl::Status StillAuthorized() const { return authorizer().Check(caller_selectors_); }

  const DelegateAuthorizer& authorizer() const { return *svc_->deps().authorizer; }
  Cache& cache() const { return *svc_->deps().cache; }

  DelegatedIdentityService* svc_;
  absl::StatusOr<CallerInfo> caller_;
  Selectors caller_selectors_;
  // Orders the first message against cache deliveries. Fail() is called only after releasing it: ending the call
  // may delete this stream as soon as the delivery returns.
  std::mutex order_mu_;
};

class X509SvidsStream final : public DelegatedStream<didv1::SubscribeToX509SVIDsResponse> {
 public:
  X509SvidsStream(DelegatedIdentityService* svc, grpc::CallbackServerContext* ctx,
                  const didv1::SubscribeToX509SVIDsRequest& req)
      : DelegatedStream(svc, ctx), req_(req) {}

 private:
  std::optional<grpc::Status> Subscribe() override {
    absl::StatusOr<Selectors> selectors = authorizer().RequestSelectors(req_.selectors(), req_.pid());
    if (!selectors.ok()) return ToGrpc(selectors.status());
    selectors_ = *selectors;
    WorkloadUpdate initial;
    sub_ = cache().Subscribe(
        *selectors, [this](const WorkloadUpdate& u) { OnUpdate(u); }, &initial);
    // The cache delivers nothing while no entry matches; SPIRE's agent then sends an empty list.
    if (!initial.has_identity) OnUpdate(initial);
    return std::nullopt;
  }

  void OnUpdate(const WorkloadUpdate& u) {
    absl::Status authorized;
    {
      std::lock_guard<std::mutex> l(order_mu_);
      if (u.version <= last_version_) return;  // a newer view was already sent
      last_version_ = u.version;
      authorized = StillAuthorized();
      if (authorized.ok()) {
        absl::flat_hash_set<std::string> skip;
        for (const auto& e : cache().MatchingEntries(selectors_)) {
          if (e.admin() || e.downstream()) skip.insert(e.id());
        }
        Push(X509SvidsMessage(u, skip));
      }
    }
    if (!authorized.ok()) Fail(ToGrpc(authorized));
  }

  const didv1::SubscribeToX509SVIDsRequest req_;
  Selectors selectors_;
  uint64_t last_version_ = 0;
};

// X.509 or JWT bundles, as SPIRE's agent sends them: the trust bundle and every federated bundle the agent holds
// (not only those the caller's entries federate with), keyed by trust domain ID ("spiffe://<td>"); the first message
// at once, then one whenever any of them changes.
template <typename Resp>
class BundlesStream final : public DelegatedStream<Resp> {
 public:
  using DelegatedStream<Resp>::DelegatedStream;

 private:
  std::optional<grpc::Status> Subscribe() override {
    // The cache delivers the current bundles within this call, then each change (never concurrently).
    this->sub_ = this->cache().SubscribeToBundles([this](const WorkloadUpdate& u) { OnBundles(u); });
    return std::nullopt;
  }

  void OnBundles(const WorkloadUpdate& u) {
    absl::Status authorized;
    {
      std::lock_guard<std::mutex> l(this->order_mu_);
      authorized = this->StillAuthorized();
      if (authorized.ok()) {
        Resp r;
        if (u.bundle) Add(*u.bundle, &r);
        for (const auto& [td, view] : u.federated) Add(*view, &r);
        this->Push(std::move(r));
      }
    }
    if (!authorized.ok()) this->Fail(ToGrpc(authorized));
  }

  static void Add(const BundleView& b, Resp* r);
};

template <>
void BundlesStream<didv1::SubscribeToX509BundlesResponse>::Add(const BundleView& b,
                                                               didv1::SubscribeToX509BundlesResponse* r) {
  (*r->mutable_ca_certificates())[b.bundle.trust_domain.IdString()] = b.x509_der_concat;
}

template <>
void BundlesStream<didv1::SubscribeToJWTBundlesResponse>::Add(const BundleView& b,
                                                              didv1::SubscribeToJWTBundlesResponse* r) {
  (*r->mutable_bundles())[b.bundle.trust_domain.IdString()] = b.jwks_json;
}

}  // namespace

didv1::SubscribeToX509SVIDsResponse X509SvidsMessage(const WorkloadUpdate& u,
                                                     const absl::flat_hash_set<std::string>& skip_entry_ids) {
  didv1::SubscribeToX509SVIDsResponse r;
  if (!u.has_identity) return r;
  // The trust domains the workload's entries federate with and whose bundle the agent holds, as trust domain IDs,
  // sorted (SPIRE lists its update's federated bundles).
  for (const auto& [td, view] : u.federated) r.add_federates_with(view->bundle.trust_domain.IdString());
  for (const auto& s : u.svids) {
    if (skip_entry_ids.contains(s->entry_id) || s->chain_der.empty()) continue;
    didv1::X509SVIDWithKey* out = r.add_x509_svids();
    ::spire::api::types::X509SVID* svid = out->mutable_x509_svid();
    SetId(s->spiffe_id, svid->mutable_id());
    for (const auto& c : s->chain_der) svid->add_cert_chain(c);
    svid->set_expires_at(absl::ToUnixSeconds(s->not_after));
    svid->set_hint(s->hint);
    out->set_x509_svid_key(s->key_pkcs8_der);
  }
  return r;
}

absl::StatusOr<CallerInfo> DelegatedIdentityService::LookupCaller(const std::string& peer) const {
  std::optional<int> fd = PeerRegistry::FdFromPeer(peer);
  if (!fd.has_value()) return absl::InternalError(absl::StrCat("unexpected peer address \"", peer, "\""));
  std::optional<CallerInfo> caller = deps_.peers->Get(*fd);
  if (!caller.has_value()) return absl::InternalError("no credentials recorded for this connection");
  return *caller;
}

grpc::ServerWriteReactor<didv1::SubscribeToX509SVIDsResponse>* DelegatedIdentityService::SubscribeToX509SVIDs(
    grpc::CallbackServerContext* ctx, const didv1::SubscribeToX509SVIDsRequest* req) {
  auto* s = new X509SvidsStream(this, ctx, *req);
  s->Begin(*deps_.pool);
  return s;
}

grpc::ServerWriteReactor<didv1::SubscribeToX509BundlesResponse>* DelegatedIdentityService::SubscribeToX509Bundles(
    grpc::CallbackServerContext* ctx, const didv1::SubscribeToX509BundlesRequest*) {
  auto* s = new BundlesStream<didv1::SubscribeToX509BundlesResponse>(this, ctx);
  s->Begin(*deps_.pool);
  return s;
}

grpc::ServerWriteReactor<didv1::SubscribeToJWTBundlesResponse>* DelegatedIdentityService::SubscribeToJWTBundles(
    grpc::CallbackServerContext* ctx, const didv1::SubscribeToJWTBundlesRequest*) {
  auto* s = new BundlesStream<didv1::SubscribeToJWTBundlesResponse>(this, ctx);
  s->Begin(*deps_.pool);
  return s;
}

grpc::ServerUnaryReactor* DelegatedIdentityService::FetchJWTSVIDs(grpc::CallbackServerContext* ctx,
                                                                  const didv1::FetchJWTSVIDsRequest* req,
                                                                  didv1::FetchJWTSVIDsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<CallerInfo> caller = LookupCaller(ctx->peer());
  const bool queued = deps_.pool->Submit(
      [this, reactor, caller, req, resp] { reactor->Finish(ToGrpc(DoFetchJwtSvids(caller, *req, resp))); });
  if (!queued) reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "agent busy; retry"));
  return reactor;
}

absl::Status DelegatedIdentityService::DoFetchJwtSvids(const absl::StatusOr<CallerInfo>& caller,
                                                       const didv1::FetchJWTSVIDsRequest& req,
                                                       didv1::FetchJWTSVIDsResponse* resp) {
  if (req.audience().empty()) return absl::InvalidArgumentError("audience must be specified");
  RETURN_IF_ERROR(deps_.authorizer->AuthorizeCaller(caller).status());
  ASSIGN_OR_RETURN(Selectors selectors, deps_.authorizer->RequestSelectors(req.selectors(), req.pid()));
  std::vector<std::string> audience(req.audience().begin(), req.audience().end());
  for (const auto& e : deps_.cache->MatchingEntries(selectors)) {
    std::optional<JwtRecord> rec = deps_.cache->GetJwt(e.id(), audience);
    if (!rec.has_value()) {
      absl::StatusOr<JwtRecord> minted = deps_.minter->MintJwt(e, audience);
      if (!minted.ok()) {
        return absl::UnavailableError(absl::StrCat("could not fetch JWT-SVID: ", minted.status().message()));
      }
      deps_.cache->PutJwt(e.id(), audience, *minted);
      rec = *minted;
    }
    ::spire::api::types::JWTSVID* out = resp->add_svids();
    out->set_token(rec->token);
    SetId(e.spiffe_id(), out->mutable_id());
    out->set_expires_at(absl::ToUnixSeconds(rec->expires_at));
    out->set_issued_at(absl::ToUnixSeconds(rec->issued_at));
    out->set_hint(e.hint());
  }
  if (resp->svids_size() == 0) return absl::PermissionDeniedError("no identity issued");
  return absl::OkStatus();
}

}  // namespace spirecvm::agent::adminapi
