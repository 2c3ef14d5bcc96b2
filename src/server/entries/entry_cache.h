// In-memory view of every registration entry, kept current incrementally from the DataStore's entry
// events (never a full table scan after the first load), answering "which entries may this agent
// mint?" from indexes.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/datastore/datastore.h"

namespace spirecvm::server {

// A registration entry as the cache holds it: its parent ID is one string shared by every cached entry of that
// parent (an agent's entries name the agent: 100,000 entries under 1,000 agents keep 1,000 parent strings).
struct CachedEntry : datastore::EntryBody {
  std::shared_ptr<const std::string> parent_id;  // never null
};
using CachedEntryPtr = std::shared_ptr<const CachedEntry>;

// `e` as a cached entry whose parent ID is `parent` (null: a new string holding e.parent_id).
CachedEntryPtr MakeCachedEntry(datastore::RegistrationEntry e, std::shared_ptr<const std::string> parent = nullptr);

class EntryCache {
 public:
  EntryCache(datastore::DataStore& ds, std::string server_id_uri) : ds_(ds), server_id_(std::move(server_id_uri)) {}

  // First load: every entry, and the event position to continue from.
  absl::Status Load();
  // Applies the entry events written since the last refresh (by this server or any other). Event ids become
  // visible in id order on every backend (PostgreSQL: see docs/datastore.md, "Events and incremental caches"), so
  // "events after the last id applied" misses nothing. If no refresh succeeded for kMaxRefreshGap (the database
  // was unreachable from this server while others kept writing), events this cache never saw may have been pruned
  // (the server prunes events older than datastore::kEventRetention): it reloads everything instead.
  absl::Status Refresh();
  static constexpr std::chrono::minutes kMaxRefreshGap{30};

  // Entries an agent may mint: entries whose parent is the agent, or a node-alias entry
  // (parent = the server ID) whose selectors are all among the node's selectors, and, recursively,
  // entries parented by those.
  std::vector<CachedEntryPtr> AuthorizedEntries(const std::string& agent_id,
                                                const std::vector<datastore::Selector>& node_selectors) const;

  size_t size() const;

 private:
  // A parent's entries, sorted by id (the order AuthorizedEntries answers in), and the parent's ID string they share.
  struct Children {
    std::shared_ptr<const std::string> parent_id;
    std::vector<CachedEntryPtr> entries;
  };
  // Load adds every entry unsorted and sorts each parent's list once; Refresh keeps them sorted as it goes.
  void PutLocked(datastore::RegistrationEntry e, bool keep_sorted);
  void RemoveLocked(std::string_view id);

  datastore::DataStore& ds_;
  std::string server_id_;
  mutable std::mutex mu_;
  int64_t last_event_ = 0;
  std::chrono::steady_clock::time_point last_sync_{};  // last successful Load/Refresh
  // The memory is the entries themselves plus two index slots each (docs/benchmarks.md, start-up RSS). Keys are views:
  // an id key views the id inside the entry its slot holds, a parent key the shared string its Children hold.
  absl::flat_hash_map<std::string_view, CachedEntryPtr> by_id_;
  absl::flat_hash_map<std::string_view, Children> by_parent_;
};

}  // namespace spirecvm::server
