#include "agent/manager/manager.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/manager/spire_convert.h"
#include "common/status.h"
#include "crypto/csr.h"
#include "crypto/x509.h"
#include "spdlog/spdlog.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::agent {
namespace {

// The server forgot, evicted or banned the agent (or its SVID is no longer current): attest again.
bool MeansReattest(const absl::Status& st) { return absl::IsPermissionDenied(st) || absl::IsUnauthenticated(st); }

}  // namespace

Manager::Manager(ManagerOptions opts, ManagerDeps deps, ManagerHooks hooks)
    : opts_(std::move(opts)),
      clock_(*deps.clock),
      connector_(*deps.connector),
      attestor_(*deps.attestor),
      keys_(*deps.keys),
      storage_(*deps.storage),
      cache_(std::move(deps.cache)),
      metrics_(hooks.metrics),
      identity_changed_(std::move(hooks.identity_changed)) {
  cache_->SetWantCallback([this] { Wake(); });
}

void Manager::Count(std::string_view key, const absl::Status& result) {
  if (metrics_ != nullptr) metrics_->CountCall(key, result);
}

void Manager::NotifyIdentity(bool attested) {
  if (identity_changed_) identity_changed_(attested);
}

Manager::~Manager() { cache_->SetWantCallback(nullptr); }

absl::Status Manager::Init() {
  RETURN_IF_ERROR(storage_.Init());
  auto persisted = storage_.LoadBundle();
  if (persisted.ok()) {
    spdlog::info("using the trust bundle persisted in {} (sequence {})", storage_.bundle_path(),
                 persisted->sequence_number);
    SetTrustedBundle(std::move(*persisted), /*persist=*/false);
  } else if (!absl::IsNotFound(persisted.status())) {
    spdlog::warn("persisted trust bundle not trusted ({}): {}",
                 opts_.bootstrap_bundle.has_value() ? "using the bootstrap bundle" : "no bootstrap bundle",
                 std::string(persisted.status().message()));
  }
  if (!bundle_.has_value() && opts_.bootstrap_bundle.has_value()) {
    SetTrustedBundle(*opts_.bootstrap_bundle, /*persist=*/false);
  }
  auto id = LoadPersistedIdentity();
  if (id.ok()) {
    spdlog::info("reusing agent SVID {} from {} (expires {})", id->spiffe_id, storage_.svid_path(),
                 absl::FormatTime(id->not_after));
    {
      std::lock_guard<std::mutex> l(mu_);
      identity_ = std::move(*id);
      reattestable_ = attestor_.CanReattest();
    }
    NotifyIdentity(true);
  } else if (!absl::IsNotFound(id.status())) {
    spdlog::warn("persisted agent identity not trusted, will attest: {}", std::string(id.status().message()));
  }
  return Reconnect();
}

std::optional<spiffe::Bundle> Manager::trusted_bundle() const {
  std::lock_guard<std::mutex> l(mu_);
  return bundle_;
}

void Manager::SetTrustedBundle(spiffe::Bundle b, bool persist) {
  if (persist) {
    if (absl::Status st = storage_.SaveBundle(b); !st.ok()) spdlog::error("persisting bundle: {}", st.ToString());
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    bundle_ = b;
  }
  cache_->SetBundle(std::move(b));
}

absl::Status Manager::Reconnect() {
  ServerCredentials creds;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (bundle_.has_value()) {
      creds.roots_der = bundle_->x509_authorities_der;
    } else {
      creds.insecure = opts_.insecure_bootstrap;
    }
    if (identity_.has_value()) {
      creds.chain_der = identity_->chain_der;
      creds.key_pem = identity_->key_pem;
    }
  }
  ASSIGN_OR_RETURN(auto client, connector_.Connect(creds));
  std::lock_guard<std::mutex> l(mu_);
  client_ = std::move(client);
  return absl::OkStatus();
}

std::shared_ptr<ServerClient> Manager::client() const {
  std::lock_guard<std::mutex> l(mu_);
  return client_;
}

bool Manager::has_identity() const {
  std::lock_guard<std::mutex> l(mu_);
  return identity_.has_value();
}

std::string Manager::agent_id() const {
  std::lock_guard<std::mutex> l(mu_);
  return identity_.has_value() ? identity_->spiffe_id : "";
}

absl::Time Manager::agent_svid_expiry() const {
  std::lock_guard<std::mutex> l(mu_);
  return identity_.has_value() ? identity_->not_after : absl::InfinitePast();
}

std::vector<std::string> Manager::agent_svid_chain() const {
  std::lock_guard<std::mutex> l(mu_);
  return identity_.has_value() ? identity_->chain_der : std::vector<std::string>{};
}

absl::Time Manager::last_sync_success() const {
  int64_t ns = last_sync_unix_ns_.load();
  return ns == 0 ? absl::InfinitePast() : absl::FromUnixNanos(ns);
}

absl::StatusOr<Manager::Identity> Manager::LoadPersistedIdentity() {
  auto key = keys_.Load();
  auto chain = storage_.LoadSvid();
  if (absl::IsNotFound(key.status()) && absl::IsNotFound(chain.status())) return chain.status();  // first start
  // Every unusable part is named, with its reason: a corrupt key next to a corrupt SVID is two problems.
  std::vector<std::string> problems;
  if (!key.ok()) problems.push_back(absl::StrCat("agent key: ", key.status().message()));
  if (!chain.ok()) problems.push_back(absl::StrCat("agent SVID: ", chain.status().message()));
  if (!problems.empty()) return absl::DataLossError(absl::StrJoin(problems, "; "));
  auto id = CheckIdentity(std::move(*chain), std::move(*key), bundle_.has_value());
  if (!id.ok()) return Annotate(id, absl::StrCat("agent SVID ", storage_.svid_path()));
  return id;
}

absl::StatusOr<Manager::Identity> Manager::CheckIdentity(std::vector<std::string> chain_der, ssl::EvpPkeyPtr key,
                                                         bool verify_to_bundle) {
  if (chain_der.empty()) return absl::InvalidArgumentError("empty agent SVID chain");
  std::vector<ssl::X509Ptr> certs;
  for (const auto& der : chain_der) {
    ASSIGN_OR_RETURN(auto c, crypto::ParseCertDer(der));
    certs.push_back(std::move(c));
  }
  auto leaf_spki = crypto::CertSpkiDer(certs[0].get());
  auto key_spki = crypto::PublicKeyToDer(key.get());
  if (!leaf_spki.ok() || !key_spki.ok() || *leaf_spki != *key_spki) {
    return absl::InvalidArgumentError("agent SVID does not match the agent key");
  }
  Identity id;
  id.not_before = crypto::NotBefore(certs[0].get());
  id.not_after = crypto::NotAfter(certs[0].get());
  if (id.not_after <= clock_.Now()) return absl::FailedPreconditionError("agent SVID has expired");
  if (verify_to_bundle) {
    auto bundle = trusted_bundle();
    if (!bundle.has_value()) return absl::FailedPreconditionError("no bundle to verify the agent SVID");
    std::vector<ssl::X509Ptr> roots;
    for (const auto& der : bundle->x509_authorities_der) {
      auto r = crypto::ParseCertDer(der);
      if (r.ok()) roots.push_back(std::move(*r));
    }
    std::vector<const X509*> chain_ptrs, root_ptrs;
    for (const auto& c : certs) chain_ptrs.push_back(c.get());
    for (const auto& r : roots) root_ptrs.push_back(r.get());
    auto sid = spiffe::VerifyX509Svid(chain_ptrs, root_ptrs, clock_.Now());
    if (!sid.ok()) return Annotate(sid, "agent SVID");
    id.spiffe_id = sid->ToString();
  } else {
    ASSIGN_OR_RETURN(auto sid, spiffe::ValidateX509SvidLeafProfile(certs[0].get()));
    id.spiffe_id = sid.ToString();
  }
  if (!absl::StartsWith(id.spiffe_id, opts_.trust_domain.IdString() + "/spire/agent/")) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected agent ID ", id.spiffe_id));
  }
  ASSIGN_OR_RETURN(auto pem, crypto::PrivateKeyToPem(key.get()));
  id.key_pem = std::move(pem);
  id.key = std::move(key);
  id.chain_der = std::move(chain_der);
  return id;
}

absl::Status Manager::Attest() {
  ASSIGN_OR_RETURN(auto key, keys_.Generate(opts_.agent_key_type));
  ASSIGN_OR_RETURN(auto csr, crypto::CreateCsr(key.get(), std::nullopt));
  ASSIGN_OR_RETURN(auto spki, crypto::PublicKeyToDer(key.get()));
  auto c = client();
  if (!c) return absl::UnavailableError("no server connection");
  spdlog::info("attesting to the server with {}", attestor_.type());
  auto result = c->Attest(attestor_, AttestationKeyInfo{csr, spki});
  if (!result.ok()) return Annotate(result, "node attestation failed");
  std::vector<std::string> chain(result->svid().cert_chain().begin(), result->svid().cert_chain().end());
  const bool reattestable = result->reattestable();
  bool insecure = !trusted_bundle().has_value();
  ASSIGN_OR_RETURN(auto id, CheckIdentity(std::move(chain), crypto::ShareKey(key.get()), !insecure));
  RETURN_IF_ERROR(keys_.Commit(key.get()));
  RETURN_IF_ERROR(storage_.SaveSvid(id.chain_der));
  spdlog::info("node attestation succeeded: agent ID {} (SVID expires {}, {}re-attestable)", id.spiffe_id,
               absl::FormatTime(id.not_after), reattestable ? "" : "not ");
  {
    std::lock_guard<std::mutex> l(mu_);
    identity_ = std::move(id);
    reattestable_ = reattestable;
  }
  attestations_.fetch_add(1);
  NotifyIdentity(true);
  RETURN_IF_ERROR(Reconnect());
  if (insecure) {
    // insecure_bootstrap: the bundle is taken on first use from the server we just attested to.
    RETURN_IF_ERROR(FetchBundle(client()).status());
    RETURN_IF_ERROR(Reconnect());
  }
  return absl::OkStatus();
}

absl::Status Manager::Rotate() {
  bool reattest;
  {
    std::lock_guard<std::mutex> l(mu_);
    reattest = reattestable_;
  }
  if (!reattest) return Renew();
  spdlog::info("agent SVID past half life: re-attesting (the server says this agent is re-attestable)");
  return Attest();
}

absl::Status Manager::Renew() {
  ASSIGN_OR_RETURN(auto key, keys_.Generate(opts_.agent_key_type));
  ASSIGN_OR_RETURN(auto csr, crypto::CreateCsr(key.get(), std::nullopt));
  auto c = client();
  ASSIGN_OR_RETURN(auto svid, c->RenewAgent(csr));
  std::vector<std::string> chain(svid.cert_chain().begin(), svid.cert_chain().end());
  ASSIGN_OR_RETURN(auto id, CheckIdentity(std::move(chain), crypto::ShareKey(key.get()), true));
  RETURN_IF_ERROR(keys_.Commit(key.get()));
  RETURN_IF_ERROR(storage_.SaveSvid(id.chain_der));
  spdlog::info("agent SVID rotated (expires {})", absl::FormatTime(id.not_after));
  {
    std::lock_guard<std::mutex> l(mu_);
    identity_ = std::move(id);
  }
  return Reconnect();
}

void Manager::DropIdentity(const absl::Status& why) {
  spdlog::warn("server no longer accepts this agent ({}); attesting again", why.ToString());
  {
    std::lock_guard<std::mutex> l(mu_);
    identity_.reset();
  }
  NotifyIdentity(false);
  if (absl::Status st = storage_.DeleteSvid(); !st.ok()) spdlog::warn("{}", st.ToString());
  if (absl::Status st = keys_.Remove(); !st.ok()) spdlog::warn("{}", st.ToString());
  if (absl::Status st = Reconnect(); !st.ok()) spdlog::warn("{}", st.ToString());
}

absl::StatusOr<bool> Manager::FetchBundle(const std::shared_ptr<ServerClient>& c) {
  ASSIGN_OR_RETURN(auto b, c->GetBundle());
  if (b.x509_authorities_size() == 0) return absl::InternalError("server returned a bundle without X.509 roots");
  if (b.trust_domain() != opts_.trust_domain.name()) {
    return absl::InternalError(absl::StrCat("server returned the bundle of trust domain \"", b.trust_domain(),
                                            "\", want \"", opts_.trust_domain.name(), "\""));
  }
  spiffe::Bundle bundle = BundleFromSpire(opts_.trust_domain, b);
  auto current = trusted_bundle();
  bool changed = !current.has_value() || spiffe::BundleToJwks(*current) != spiffe::BundleToJwks(bundle) ||
                 current->sequence_number != bundle.sequence_number;
  if (!changed) return false;
  spdlog::info("trust bundle updated (sequence {}, {} X.509 and {} JWT authorities)", bundle.sequence_number,
               bundle.x509_authorities_der.size(), bundle.jwt_authorities.size());
  SetTrustedBundle(std::move(bundle), /*persist=*/true);
  return true;
}

void Manager::FetchFederatedBundles(const std::shared_ptr<ServerClient>& c) {
  std::vector<spiffe::Bundle> bundles;
  FederatedBundles held = cache_->federated_bundles();
  for (const std::string& name : cache_->FederatedTrustDomains()) {
    auto td = spiffe::TrustDomain::Parse(name);
    if (!td.ok()) continue;
    auto b = c->GetFederatedBundle(name);
    if (b.ok() && b->trust_domain() == name) {
      bundles.push_back(BundleFromSpire(*td, *b));
      continue;
    }
    if (!b.ok() && absl::IsNotFound(b.status())) continue;
    spdlog::warn(
        "federated bundle of \"{}\": {}", name,
        b.ok() ? absl::StrCat("server answered the bundle of \"", b->trust_domain(), "\"") : b.status().ToString());
    if (auto it = held.find(name); it != held.end()) bundles.push_back(it->second->bundle);
  }
  cache_->SetFederatedBundles(std::move(bundles));
}

// As SPIRE's agent: the entries by SyncAuthorizedEntries, then the bundle by GetBundle, on every sync.
absl::Status Manager::Sync() {
  auto c = client();
  ASSIGN_OR_RETURN(EntrySyncResult sync, c->SyncEntries(cache_->KnownEntries()));
  if (!sync.changed.empty() || !sync.removed.empty()) {
    spdlog::debug("sync: {} new or changed entries, {} removed", sync.changed.size(), sync.removed.size());
  }
  cache_->ApplySync(sync.changed, sync.removed);
  ASSIGN_OR_RETURN(bool changed, FetchBundle(c));
  FetchFederatedBundles(c);
  last_sync_unix_ns_.store(absl::ToUnixNanos(clock_.Now()));
  // New roots: the next connection must trust them (and the server may present a chain to a new root).
  if (changed) return Reconnect();
  return absl::OkStatus();
}

absl::Status Manager::Mint() {
  std::vector<spirecvm::types::Entry> todo = cache_->EntriesToMint();
  if (todo.empty()) return absl::OkStatus();
  auto c = client();
  absl::Status first_error;
  for (size_t start = 0; start < todo.size(); start += opts_.batch_size) {
    size_t end = std::min(todo.size(), start + opts_.batch_size);
    svidv1::BatchNewX509SVIDRequest req;
    std::vector<std::string> keys_der;
    for (size_t i = start; i < end; ++i) {
      ASSIGN_OR_RETURN(auto key, crypto::GenerateKey(opts_.workload_key_type));
      ASSIGN_OR_RETURN(auto csr, crypto::CreateCsr(key.get(), todo[i].spiffe_id()));
      ASSIGN_OR_RETURN(auto der, crypto::PrivateKeyToPkcs8Der(key.get()));
      keys_der.push_back(std::move(der));
      auto* p = req.add_params();
      p->set_entry_id(todo[i].id());
      p->set_csr(std::move(csr));
    }
    ASSIGN_OR_RETURN(auto resp, c->BatchNewX509Svid(req));
    std::vector<std::shared_ptr<const X509SvidRecord>> out;
    for (int i = 0; i < resp.results_size() && start + i < end; ++i) {
      const auto& r = resp.results(i);
      const auto& entry = todo[start + i];
      if (r.status().code() != 0) {
        spdlog::warn("server refused an SVID for entry {} ({}): {}", entry.id(), entry.spiffe_id(),
                     r.status().message());
        if (first_error.ok()) {
          first_error = absl::Status(static_cast<absl::StatusCode>(r.status().code()), r.status().message());
        }
        continue;
      }
      auto rec = std::make_shared<X509SvidRecord>();
      rec->entry_id = entry.id();
      rec->entry_revision = entry.revision_number();
      auto sid = SpiffeIdFromSpire(r.svid().id());
      rec->spiffe_id = sid.ok() ? *sid : entry.spiffe_id();
      rec->hint = entry.hint();
      rec->chain_der.assign(r.svid().cert_chain().begin(), r.svid().cert_chain().end());
      rec->key_pkcs8_der = keys_der[i];
      if (rec->chain_der.empty()) continue;
      auto leaf = crypto::ParseCertDer(rec->chain_der[0]);
      if (!leaf.ok()) {
        spdlog::warn("server returned a malformed SVID for entry {}: {}", entry.id(), leaf.status().ToString());
        continue;
      }
      rec->not_before = crypto::NotBefore(leaf->get());
      rec->not_after = crypto::NotAfter(leaf->get());
      out.push_back(std::move(rec));
    }
    spdlog::debug("minted {} workload SVIDs", out.size());
    cache_->StoreSvids(std::move(out));
  }
  return first_error;
}

absl::Status Manager::RunOnce() {
  bool have;
  absl::Time nb, na;
  {
    std::lock_guard<std::mutex> l(mu_);
    have = identity_.has_value();
    if (have) {
      nb = identity_->not_before;
      na = identity_->not_after;
    }
  }
  absl::Time now = clock_.Now();
  if (have && now >= na) {
    DropIdentity(absl::FailedPreconditionError("agent SVID expired"));
    have = false;
  }
  if (!have) {
    absl::Status st = Attest();
    Count("node_attestor_new_svid", st);
    RETURN_IF_ERROR(st);
  } else if (now >= HalfLife(nb, na)) {
    absl::Status st = Rotate();
    Count("agent_svid_rotate", st);
    if (!st.ok()) {
      if (MeansReattest(st)) DropIdentity(st);
      return Annotate(st, "agent SVID rotation");
    }
  }
  absl::Status synced = Sync();
  Count("manager_sync_fetch_entries_updates", synced);
  if (absl::Status st = synced; !st.ok()) {
    if (MeansReattest(st)) DropIdentity(st);
    // While the server is away the cache keeps serving what it holds; the log says why nothing new arrives.
    return Annotate(st, "sync with the server (workloads keep their cached SVIDs)");
  }
  return Mint();
}

void Manager::Run() {
  absl::Duration backoff = opts_.min_backoff;
  absl::Time next_sync = absl::InfinitePast();
  for (;;) {
    {
      std::lock_guard<std::mutex> l(wake_mu_);
      if (stop_) return;
      wake_ = false;
    }
    absl::Duration delay;
    absl::Time now = clock_.Now();
    absl::Status st;
    if (now >= next_sync) {
      st = RunOnce();
      if (st.ok()) next_sync = clock_.Now() + opts_.sync_interval;
    } else {
      st = has_identity() ? Mint() : RunOnce();  // woken early: only mint what workloads are waiting for
    }
    if (st.ok()) {
      backoff = opts_.min_backoff;
      delay = next_sync - clock_.Now();
      delay = std::min(delay, cache_->NextRotation() - clock_.Now());
      {
        std::lock_guard<std::mutex> l(mu_);
        if (identity_.has_value()) {
          delay = std::min(delay, HalfLife(identity_->not_before, identity_->not_after) - clock_.Now());
        }
      }
      delay = std::max(delay, absl::Milliseconds(50));
    } else {
      spdlog::warn("agent: {} (retrying in {})", st.ToString(), absl::FormatDuration(backoff));
      delay = backoff;
      backoff = std::min(backoff * 2, opts_.max_backoff);
      next_sync = absl::InfinitePast();
    }
    std::unique_lock<std::mutex> l(wake_mu_);
    wake_cv_.wait_for(l, absl::ToChronoMilliseconds(delay), [&] { return stop_ || wake_; });
  }
}

void Manager::Stop() {
  {
    std::lock_guard<std::mutex> l(wake_mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
}

void Manager::Wake() {
  {
    std::lock_guard<std::mutex> l(wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_all();
}

absl::StatusOr<JwtRecord> Manager::MintJwt(const spirecvm::types::Entry& entry,
                                           const std::vector<std::string>& audience) {
  auto c = client();
  if (!c || !has_identity()) return absl::UnavailableError("agent is not attested yet");
  ASSIGN_OR_RETURN(auto svid, c->NewJwtSvid(entry.id(), audience));
  JwtRecord r;
  r.token = svid.token();
  auto sid = SpiffeIdFromSpire(svid.id());
  r.spiffe_id = sid.ok() ? *sid : entry.spiffe_id();
  r.hint = entry.hint();
  r.issued_at = svid.issued_at() != 0 ? absl::FromUnixSeconds(svid.issued_at()) : clock_.Now();
  r.expires_at = absl::FromUnixSeconds(svid.expires_at());
  return r;
}

}  // namespace spirecvm::agent
