#include "agent/manager/cache.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace spirecvm::agent {
namespace {

uint64_t Fnv(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (i * 8)) & 0xff;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string SelectorKey(Selectors s) {
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return absl::StrJoin(s, "\n");
}

}  // namespace

std::string SelectorString(const spirecvm::types::Selector& s) { return absl::StrCat(s.type(), ":", s.value()); }

bool EntryMatches(const spirecvm::types::Entry& e, const absl::flat_hash_set<std::string>& workload) {
  if (e.selectors_size() == 0) return false;
  for (const auto& s : e.selectors()) {
    if (!workload.contains(SelectorString(s))) return false;
  }
  return true;
}

absl::Time HalfLife(absl::Time not_before, absl::Time not_after) { return not_before + (not_after - not_before) / 2; }

// ---------------- Subscription ----------------

Subscription::~Subscription() { Cancel(); }

void Subscription::Cancel() {
  if (delivering_.load() == std::this_thread::get_id()) {
    // Called from inside our own callback: mu_ is already held by this thread.
    cancelled_ = true;
  } else {
    std::lock_guard<std::mutex> l(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    cb_ = nullptr;
  }
  if (auto c = cache_.lock()) c->Unsubscribe(this);
}

void Subscription::Deliver(const WorkloadUpdate& u) {
  std::lock_guard<std::mutex> l(mu_);
  if (cancelled_ || !cb_) return;
  if (u.version <= last_version_) return;  // a newer view was already considered
  last_version_ = u.version;
  // Nothing to say until there is an identity or a change from one; SVIDs are only sent complete.
  if (!delivered_ && !u.has_identity) return;
  if (u.has_identity && !u.complete) return;
  if (delivered_ && u.svids_fingerprint == last_svids_ && u.bundle_fingerprint == last_bundle_ &&
      u.has_identity == last_has_identity_) {
    return;
  }
  delivered_ = true;
  last_svids_ = u.svids_fingerprint;
  last_bundle_ = u.bundle_fingerprint;
  last_has_identity_ = u.has_identity;
  delivering_.store(std::this_thread::get_id());
  cb_(u);
  delivering_.store(std::thread::id());
}

// ---------------- Cache ----------------

std::shared_ptr<Cache> Cache::Create(const Clock& clock, size_t max_svids, size_t max_jwts) {
  return std::shared_ptr<Cache>(new Cache(clock, max_svids == 0 ? 1000 : max_svids, max_jwts));
}

bool Cache::ApplySync(const std::vector<spirecvm::types::Entry>& changed, const std::vector<std::string>& removed) {
  bool any = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& e : changed) {
      auto it = entries_.find(e.id());
      if (it != entries_.end() && it->second.SerializeAsString() == e.SerializeAsString()) continue;
      entries_[e.id()] = e;
      // JWT-SVIDs minted for the old revision may carry stale claims.
      for (auto j = jwts_.begin(); j != jwts_.end();) {
        if (j->first.rfind(e.id() + "\n", 0) == 0) {
          jwts_.erase(j++);
        } else {
          ++j;
        }
      }
      any = true;
    }
    for (const auto& id : removed) {
      if (entries_.erase(id) > 0) any = true;
      svids_.erase(id);
      last_used_.erase(id);
      for (auto j = jwts_.begin(); j != jwts_.end();) {
        if (j->first.rfind(id + "\n", 0) == 0) {
          jwts_.erase(j++);
        } else {
          ++j;
        }
      }
    }
  }
  if (any) NotifyAll();
  return any;
}

std::vector<KnownEntry> Cache::KnownEntries() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<KnownEntry> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back({id, e.revision_number(), e.created_at()});
  return out;
}

namespace {

std::shared_ptr<BundleView> MakeView(spiffe::Bundle b) {
  auto view = std::make_shared<BundleView>();
  for (const auto& der : b.x509_authorities_der) view->x509_der_concat += der;
  spiffe::Bundle jwt_only = b;
  jwt_only.x509_authorities_der.clear();
  view->jwks_json = spiffe::BundleToJwks(jwt_only);
  view->bundle = std::move(b);
  return view;
}

bool SameBundle(const spiffe::Bundle& a, const spiffe::Bundle& b) {
  return a.sequence_number == b.sequence_number && spiffe::BundleToJwks(a) == spiffe::BundleToJwks(b);
}

}  // namespace

void Cache::SetFederatedBundles(std::vector<spiffe::Bundle> bundles) {
  bool changed = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    FederatedBundles next;
    for (auto& b : bundles) {
      const std::string td = b.trust_domain.name();
      auto it = federated_.find(td);
      if (it != federated_.end() && SameBundle(it->second->bundle, b)) {
        next[td] = it->second;
        continue;
      }
      auto view = MakeView(std::move(b));
      view->generation = next_generation_++;
      next[td] = std::move(view);
      changed = true;
    }
    changed = changed || next.size() != federated_.size();
    federated_ = std::move(next);
  }
  if (changed) NotifyAll();
}

FederatedBundles Cache::federated_bundles() const {
  std::lock_guard<std::mutex> l(mu_);
  return federated_;
}

std::vector<std::string> Cache::FederatedTrustDomains() const {
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> tds;
  for (const auto& [id, e] : entries_) tds.insert(e.federates_with().begin(), e.federates_with().end());
  return {tds.begin(), tds.end()};
}

void Cache::SetBundle(spiffe::Bundle b) {
  std::shared_ptr<BundleView> view = MakeView(std::move(b));
  {
    std::lock_guard<std::mutex> l(mu_);
    view->generation = next_generation_++;
    bundle_ = std::move(view);
  }
  NotifyAll();
}

std::shared_ptr<const BundleView> Cache::bundle() const {
  std::lock_guard<std::mutex> l(mu_);
  return bundle_;
}

std::vector<spirecvm::types::Entry> Cache::EntriesToMint() {
  absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> l(mu_);
  std::vector<const spirecvm::types::Entry*> wanted;
  wanted.reserve(entries_.size());
  for (const auto& [id, e] : entries_) wanted.push_back(&e);
  if (wanted.size() > max_svids_) {
    // LRU: entries some live stream watches first, then the most recently used, then those already minted.
    auto rank = [&](const spirecvm::types::Entry* e) {
      auto used = last_used_.find(e->id());
      return std::make_tuple(subscribed_entries_.contains(e->id()) ? 1 : 0,
                             used == last_used_.end() ? absl::InfinitePast() : used->second,
                             svids_.contains(e->id()) ? 1 : 0);
    };
    std::stable_sort(wanted.begin(), wanted.end(), [&](auto* a, auto* b) { return rank(a) > rank(b); });
    absl::flat_hash_set<std::string> keep;
    for (size_t i = 0; i < max_svids_; ++i) keep.insert(wanted[i]->id());
    for (auto it = svids_.begin(); it != svids_.end();) {
      if (!keep.contains(it->first)) {
        svids_.erase(it++);
      } else {
        ++it;
      }
    }
    wanted.resize(max_svids_);
  }
  std::vector<spirecvm::types::Entry> out;
  for (const auto* e : wanted) {
    auto it = svids_.find(e->id());
    if (it == svids_.end() || it->second->entry_revision != e->revision_number() ||
        now >= HalfLife(it->second->not_before, it->second->not_after)) {
      out.push_back(*e);
    }
  }
  return out;
}

void Cache::StoreSvids(std::vector<std::shared_ptr<const X509SvidRecord>> svids) {
  if (svids.empty()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& s : svids) {
      if (!entries_.contains(s->entry_id)) continue;  // removed while minting
      auto copy = std::make_shared<X509SvidRecord>(*s);
      copy->generation = next_generation_++;
      svids_[s->entry_id] = std::move(copy);
    }
  }
  NotifyAll();
}

absl::Time Cache::NextRotation() const {
  std::lock_guard<std::mutex> l(mu_);
  absl::Time t = absl::InfiniteFuture();
  for (const auto& [id, s] : svids_) t = std::min(t, HalfLife(s->not_before, s->not_after));
  return t;
}

size_t Cache::entry_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

size_t Cache::jwt_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return jwts_.size();
}

size_t Cache::svid_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return svids_.size();
}

size_t Cache::subscriber_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return subs_.size();
}

void Cache::SetWantCallback(std::function<void()> cb) {
  std::lock_guard<std::mutex> l(mu_);
  want_cb_ = std::move(cb);
}

WorkloadUpdate Cache::ComputeLocked(const absl::flat_hash_set<std::string>& selectors, bool* want) {
  WorkloadUpdate u;
  u.version = next_version_++;
  u.bundle = bundle_;
  u.bundle_fingerprint = bundle_ ? bundle_->generation : 0;
  absl::Time now = clock_.Now();
  size_t matched = 0;
  for (const auto& [id, e] : entries_) {
    if (!EntryMatches(e, selectors)) continue;
    ++matched;
    last_used_[id] = now;
    auto it = svids_.find(id);
    if (it == svids_.end() || it->second->not_after <= now) {
      *want = true;
      continue;
    }
    u.svids.push_back(it->second);
  }
  for (const auto& [id, e] : entries_) {
    if (!EntryMatches(e, selectors)) continue;
    for (const auto& td : e.federates_with()) {
      if (auto f = federated_.find(td); f != federated_.end()) u.federated[td] = f->second;
    }
  }
  if (!u.federated.empty()) {
    uint64_t fh = Fnv(0xcbf29ce484222325ull, u.bundle_fingerprint);
    for (const auto& [td, v] : u.federated) fh = Fnv(fh, v->generation);
    u.bundle_fingerprint = fh;
  }
  u.has_identity = matched > 0;
  u.complete = matched == u.svids.size();
  std::sort(u.svids.begin(), u.svids.end(), [](const auto& a, const auto& b) {
    return std::tie(a->spiffe_id, a->entry_id) < std::tie(b->spiffe_id, b->entry_id);
  });
  uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& s : u.svids) h = Fnv(h, s->generation);
  h = Fnv(h, u.svids.size());
  u.svids_fingerprint = h;
  return u;
}

WorkloadUpdate Cache::AllBundlesLocked() {
  WorkloadUpdate u;
  u.version = next_version_++;
  u.bundle = bundle_;
  u.federated = federated_;
  uint64_t h = Fnv(0xcbf29ce484222325ull, bundle_ ? bundle_->generation : 0);
  for (const auto& [td, v] : federated_) h = Fnv(h, v->generation);  // generations are unique per view
  u.bundle_fingerprint = Fnv(h, federated_.size());
  u.has_identity = bundle_ != nullptr;  // nothing to deliver before the trust bundle
  u.complete = true;
  return u;
}

WorkloadUpdate Cache::Fetch(const Selectors& selectors) {
  absl::flat_hash_set<std::string> set(selectors.begin(), selectors.end());
  bool want = false;
  WorkloadUpdate u;
  std::function<void()> cb;
  {
    std::lock_guard<std::mutex> l(mu_);
    u = ComputeLocked(set, &want);
    if (want) cb = want_cb_;
  }
  if (cb) cb();
  return u;
}

std::vector<spirecvm::types::Entry> Cache::MatchingEntries(const Selectors& selectors) {
  absl::flat_hash_set<std::string> set(selectors.begin(), selectors.end());
  std::vector<spirecvm::types::Entry> out;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [id, e] : entries_) {
    if (EntryMatches(e, set)) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.spiffe_id(), a.id()) < std::tie(b.spiffe_id(), b.id());
  });
  return out;
}

std::shared_ptr<Subscription> Cache::Subscribe(Selectors selectors, std::function<void(const WorkloadUpdate&)> cb,
                                               WorkloadUpdate* initial) {
  std::shared_ptr<Subscription> sub(new Subscription(std::move(selectors), std::move(cb)));
  sub->key_ = SelectorKey(sub->selectors_);
  sub->cache_ = weak_from_this();
  absl::flat_hash_set<std::string> set(sub->selectors_.begin(), sub->selectors_.end());
  bool want = false;
  WorkloadUpdate u;
  std::function<void()> want_cb;
  {
    std::lock_guard<std::mutex> l(mu_);
    subs_[sub.get()] = sub;
    u = ComputeLocked(set, &want);
    for (const auto& [id, e] : entries_) {
      if (EntryMatches(e, set)) subscribed_entries_.insert(id);
    }
    if (want) want_cb = want_cb_;
  }
  if (initial != nullptr) *initial = u;
  sub->Deliver(u);
  if (want_cb) want_cb();
  return sub;
}

std::shared_ptr<Subscription> Cache::SubscribeToBundles(std::function<void(const WorkloadUpdate&)> cb) {
  std::shared_ptr<Subscription> sub(new Subscription({}, std::move(cb)));
  sub->all_bundles_ = true;
  sub->cache_ = weak_from_this();
  WorkloadUpdate u;
  {
    std::lock_guard<std::mutex> l(mu_);
    subs_[sub.get()] = sub;
    u = AllBundlesLocked();
  }
  sub->Deliver(u);
  return sub;
}

void Cache::Unsubscribe(Subscription* s) {
  std::lock_guard<std::mutex> l(mu_);
  subs_.erase(s);
}

void Cache::NotifyAll() {
  // Snapshot subscribers and compute each distinct selector set's view once, under the lock; deliver outside it.
  std::vector<std::pair<std::shared_ptr<Subscription>, std::shared_ptr<WorkloadUpdate>>> work;
  bool want = false;
  std::function<void()> want_cb;
  {
    std::lock_guard<std::mutex> l(mu_);
    absl::flat_hash_map<std::string, std::shared_ptr<WorkloadUpdate>> by_key;
    std::shared_ptr<WorkloadUpdate> all_bundles;
    subscribed_entries_.clear();
    work.reserve(subs_.size());
    for (auto& [raw, weak] : subs_) {
      auto sub = weak.lock();
      if (!sub) continue;
      if (sub->all_bundles_) {
        if (!all_bundles) all_bundles = std::make_shared<WorkloadUpdate>(AllBundlesLocked());
        work.emplace_back(std::move(sub), all_bundles);
        continue;
      }
      auto& u = by_key[sub->key_];
      if (!u) {
        absl::flat_hash_set<std::string> set(sub->selectors_.begin(), sub->selectors_.end());
        u = std::make_shared<WorkloadUpdate>(ComputeLocked(set, &want));
        for (const auto& [id, e] : entries_) {
          if (EntryMatches(e, set)) subscribed_entries_.insert(id);
        }
      }
      work.emplace_back(std::move(sub), u);
    }
    if (want) want_cb = want_cb_;
  }
  for (auto& [sub, u] : work) sub->Deliver(*u);
  if (want_cb) want_cb();
}

std::string Cache::JwtKey(const std::string& entry_id, const std::vector<std::string>& audience) {
  std::vector<std::string> a = audience;
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return absl::StrCat(entry_id, "\n", absl::StrJoin(a, "\n"));
}

std::optional<JwtRecord> Cache::GetJwt(const std::string& entry_id, const std::vector<std::string>& audience) {
  absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> l(mu_);
  auto it = jwts_.find(JwtKey(entry_id, audience));
  if (it == jwts_.end()) return std::nullopt;
  if (now >= HalfLife(it->second.issued_at, it->second.expires_at)) {
    jwts_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Cache::PutJwt(const std::string& entry_id, const std::vector<std::string>& audience, JwtRecord r) {
  std::lock_guard<std::mutex> l(mu_);
  if (!entries_.contains(entry_id)) return;
  std::string key = JwtKey(entry_id, audience);
  // Bounded (jwt_svid_cache_max_size): at the bound, drop expired tokens, then the soonest to expire.
  if (!jwts_.contains(key) && jwts_.size() >= max_jwts_) {
    absl::Time now = clock_.Now();
    for (auto it = jwts_.begin(); it != jwts_.end();) {
      if (it->second.expires_at <= now) {
        jwts_.erase(it++);
      } else {
        ++it;
      }
    }
    while (jwts_.size() >= max_jwts_) {
      auto soonest = std::min_element(jwts_.begin(), jwts_.end(), [](const auto& a, const auto& b) {
        return a.second.expires_at < b.second.expires_at;
      });
      jwts_.erase(soonest);
    }
  }
  jwts_[std::move(key)] = std::move(r);
}

}  // namespace spirecvm::agent
