// The agent's view of what it may hand out: authorized entries (from incremental sync), the trust bundle, the
// workload X509-SVIDs minted for those entries (an LRU of bounded size) and JWT-SVIDs (cached until half life).
// Workload API streams subscribe with their selectors and are pushed the full state on every change.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "spiffe/bundle.h"
#include "types.pb.h"

namespace spirecvm::agent {

// "type:value" strings, as the unix attestor produces them.
using Selectors = std::vector<std::string>;

std::string SelectorString(const spirecvm::types::Selector& s);

// What the agent holds of an entry, for the next sync (entry_sync.h).
struct KnownEntry {
  std::string id;
  int64_t revision_number = 0;
  int64_t created_at = 0;  // unix seconds; 0 = unknown (never stale by creation time)
};
// True when every selector of the entry is among the workload's.
bool EntryMatches(const spirecvm::types::Entry& e, const absl::flat_hash_set<std::string>& workload);
// Rotation point: half way through the validity period.
absl::Time HalfLife(absl::Time not_before, absl::Time not_after);

struct X509SvidRecord {
  std::string entry_id;
  int64_t entry_revision = 0;
  std::string spiffe_id;
  std::string hint;
  std::vector<std::string> chain_der;  // leaf first
  std::string key_pkcs8_der;
  absl::Time not_before;
  absl::Time not_after;
  uint64_t generation = 0;  // set by Cache::StoreSvids; unique per stored record
};

// The trust bundle plus the forms the Workload API serves, computed once per bundle change.
struct BundleView {
  spiffe::Bundle bundle;
  std::string x509_der_concat;  // X509SVID.bundle / X509BundlesResponse value
  std::string jwks_json;        // JWTBundlesResponse value (JWT authorities only)
  uint64_t generation = 0;
};

// Federated bundles by trust domain name (no scheme).
using FederatedBundles = std::map<std::string, std::shared_ptr<const BundleView>>;

struct WorkloadUpdate {
  std::vector<std::shared_ptr<const X509SvidRecord>> svids;  // sorted by SPIFFE ID, then entry id
  std::shared_ptr<const BundleView> bundle;
  // The bundles of the trust domains the workload's matching entries federate with (those the agent holds), as
  // SPIRE's agent delivers them: FetchX509SVID's federated_bundles, FetchX509Bundles, FetchJWTBundles, SDS.
  FederatedBundles federated;
  bool has_identity = false;  // at least one entry matches
  bool complete = false;      // every matching entry has an SVID
  uint64_t svids_fingerprint = 0;
  uint64_t bundle_fingerprint = 0;  // covers `federated` too
  uint64_t version = 0;             // order of computation: a subscriber never goes back to an older view
};

struct JwtRecord {
  std::string token;
  std::string spiffe_id;
  std::string hint;
  absl::Time issued_at;
  absl::Time expires_at;
};

class Cache;

// Returned by Subscribe; the callback is called (never concurrently for one subscription, never under the cache
// lock) with the new state whenever it changed. Cancel() (or destruction) stops deliveries; after Cancel returns
// the callback is not running and will not run again.
class Subscription {
 public:
  ~Subscription();
  void Cancel();
  const Selectors& selectors() const { return selectors_; }

 private:
  friend class Cache;
  Subscription(Selectors s, std::function<void(const WorkloadUpdate&)> cb)
      : selectors_(std::move(s)), cb_(std::move(cb)) {}
  void Deliver(const WorkloadUpdate& u);

  Selectors selectors_;
  std::string key_;
  bool all_bundles_ = false;                   // a SubscribeToBundles subscription: no selectors, every bundle
  std::mutex mu_;                              // serializes deliveries and Cancel
  std::atomic<std::thread::id> delivering_{};  // lets the callback itself Cancel without self-deadlock
  std::function<void(const WorkloadUpdate&)> cb_;
  bool cancelled_ = false;
  bool delivered_ = false;
  uint64_t last_svids_ = 0;
  uint64_t last_bundle_ = 0;
  bool last_has_identity_ = false;
  uint64_t last_version_ = 0;
  std::weak_ptr<Cache> cache_;
};

class Cache : public std::enable_shared_from_this<Cache> {
 public:
  // max_jwts: SPIRE's jwt_svid_cache_max_size; at the bound, expired tokens go first, then the soonest to expire.
  static std::shared_ptr<Cache> Create(const Clock& clock, size_t max_svids, size_t max_jwts = 1000);

  // --- manager side ---
  // Applies a sync answer. Returns true when anything changed.
  bool ApplySync(const std::vector<spirecvm::types::Entry>& changed, const std::vector<std::string>& removed);
  // Every entry held, for the next sync.
  std::vector<KnownEntry> KnownEntries() const;
  void SetBundle(spiffe::Bundle b);
  std::shared_ptr<const BundleView> bundle() const;
  // Replaces the federated bundles held (the server's GetFederatedBundle answers for FederatedTrustDomains()).
  // A bundle whose content did not change keeps its view (and generation): subscribers are not pushed for it.
  void SetFederatedBundles(std::vector<spiffe::Bundle> bundles);
  // Every federated bundle held, by trust domain name.
  FederatedBundles federated_bundles() const;
  // The trust domains some held entry federates with: the federated bundles the agent must fetch.
  std::vector<std::string> FederatedTrustDomains() const;
  // Entries to mint now: wanted (within the LRU capacity, subscribed and recently used first) and without an SVID,
  // past half life, or minted for an older revision. Also evicts SVIDs that fell out of the wanted set.
  std::vector<spirecvm::types::Entry> EntriesToMint();
  void StoreSvids(std::vector<std::shared_ptr<const X509SvidRecord>> svids);
  // Earliest time some held SVID reaches half life (InfiniteFuture when none).
  absl::Time NextRotation() const;
  size_t entry_count() const;
  size_t svid_count() const;
  size_t jwt_count() const;
  // Called (outside the lock) when a workload matched an entry that has no SVID yet: the manager mints early.
  void SetWantCallback(std::function<void()> cb);

  // --- workload side ---
  WorkloadUpdate Fetch(const Selectors& selectors);
  std::vector<spirecvm::types::Entry> MatchingEntries(const Selectors& selectors);
  // Delivers the current state at once (if it has an identity and is complete), then every change. `initial`
  // receives the state at subscription time (to refuse callers without an identity).
  std::shared_ptr<Subscription> Subscribe(Selectors selectors, std::function<void(const WorkloadUpdate&)> cb,
                                          WorkloadUpdate* initial = nullptr);
  // The trust bundle and every federated bundle held, whoever federates with them: SPIRE's agent's bundle stream
  // (its manager's SubscribeToBundleChanges), which the Delegated Identity API serves. Delivers the current bundles
  // at once (once there is a trust bundle), then again whenever the trust bundle or any federated bundle changed,
  // appeared or went away. Each update has no SVIDs, `bundle` and `federated` (all of them) set, has_identity true.
  std::shared_ptr<Subscription> SubscribeToBundles(std::function<void(const WorkloadUpdate&)> cb);
  size_t subscriber_count() const;

  std::optional<JwtRecord> GetJwt(const std::string& entry_id, const std::vector<std::string>& audience);
  void PutJwt(const std::string& entry_id, const std::vector<std::string>& audience, JwtRecord r);

  // Pushes the current state to every subscriber whose view changed.
  void NotifyAll();

 private:
  friend class Subscription;
  Cache(const Clock& clock, size_t max_svids, size_t max_jwts)
      : clock_(clock), max_svids_(max_svids), max_jwts_(max_jwts == 0 ? 1 : max_jwts) {}
  void Unsubscribe(Subscription* s);
  // Requires mu_. Marks matched entries used; `want` set when some matched entry lacks an SVID.
  WorkloadUpdate ComputeLocked(const absl::flat_hash_set<std::string>& selectors, bool* want);
  // Requires mu_. The view of a SubscribeToBundles subscription.
  WorkloadUpdate AllBundlesLocked();
  static std::string JwtKey(const std::string& entry_id, const std::vector<std::string>& audience);

  const Clock& clock_;
  const size_t max_svids_;
  const size_t max_jwts_;
  mutable std::mutex mu_;
  std::map<std::string, spirecvm::types::Entry> entries_;                          // by id
  absl::flat_hash_map<std::string, std::shared_ptr<const X509SvidRecord>> svids_;  // by entry id
  absl::flat_hash_map<std::string, absl::Time> last_used_;                         // by entry id
  absl::flat_hash_set<std::string> subscribed_entries_;  // matched by some live subscription at last notify
  absl::flat_hash_map<std::string, JwtRecord> jwts_;
  std::shared_ptr<const BundleView> bundle_;
  FederatedBundles federated_;
  absl::flat_hash_map<Subscription*, std::weak_ptr<Subscription>> subs_;
  std::function<void()> want_cb_;
  uint64_t next_generation_ = 1;
  uint64_t next_version_ = 1;
};

}  // namespace spirecvm::agent
