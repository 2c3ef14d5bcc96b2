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

class EntryCache {
 public:
  EntryCache(datastore::DataStore& ds, std::string server_id_uri) : ds_(ds), server_id_(std::move(server_id_uri)) {}

  // First load: every entry, and the event position to continue from.
  absl::Status Load();
  // Applies the entry events written since the last refresh (by this server or any other). Event ids become
  // visible in id order on every backend (PostgreSQL: see docs/datastore.md, "Events and incremental caches"), so
  // "events after the last id applied" misses nothing. If no refresh succeeded for kMaxRefreshGap (the database
  // was unreachable from this server while others kept writing), events this cache never saw may have been pruned
  // (the server prunes events older than an hour): it reloads everything instead.
  absl::Status Refresh();
  static constexpr std::chrono::minutes kMaxRefreshGap{30};

  // Entries an agent may mint: entries whose parent is the agent, or a node-alias entry
  // (parent = the server ID) whose selectors are all among the node's selectors, and, recursively,
  // entries parented by those.
  std::vector<std::shared_ptr<const datastore::RegistrationEntry>> AuthorizedEntries(
      const std::string& agent_id, const std::vector<datastore::Selector>& node_selectors) const;

  size_t size() const;

 private:
  using EntryPtr = std::shared_ptr<const datastore::RegistrationEntry>;
  // Load adds every entry unsorted and sorts each parent's list once; Refresh keeps them sorted as it goes.
  void PutLocked(EntryPtr e, bool keep_sorted);
  void RemoveLocked(std::string_view id);

  datastore::DataStore& ds_;
  std::string server_id_;
  mutable std::mutex mu_;
  int64_t last_event_ = 0;
  std::chrono::steady_clock::time_point last_sync_{};  // last successful Load/Refresh
  // The memory is the entries themselves plus two index slots each (docs/benchmarks.md, start-up RSS): an id key
  // is a view of the id inside the entry its slot holds, and a parent's entries are one vector, sorted by id (the
  // order AuthorizedEntries answers in). Parent ids are few and own their strings.
  absl::flat_hash_map<std::string_view, EntryPtr> by_id_;
  absl::flat_hash_map<std::string, std::vector<EntryPtr>> by_parent_;
};

}  // namespace spirecvm::server
