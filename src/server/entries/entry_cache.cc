#include "server/entries/entry_cache.h"

#include <algorithm>
#include <deque>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "common/status.h"

namespace spirecvm::server {
namespace {

bool IdLess(const CachedEntryPtr& a, std::string_view id) { return a->id < id; }

}  // namespace

CachedEntryPtr MakeCachedEntry(datastore::RegistrationEntry e, std::shared_ptr<const std::string> parent) {
  auto entry = std::make_shared<CachedEntry>();
  entry->parent_id =
      parent != nullptr ? std::move(parent) : std::make_shared<const std::string>(std::move(e.parent_id));
  static_cast<datastore::EntryBody&>(*entry) = std::move(e);
  return entry;
}

absl::Status EntryCache::Load() {
  // Read the event position first: an entry written between the two reads is applied twice, which is harmless.
  ASSIGN_OR_RETURN(int64_t latest, ds_.LatestEntryEventId());
  ASSIGN_OR_RETURN(std::vector<datastore::RegistrationEntry> all, ds_.ListEntries(datastore::ListEntriesFilter{}));
  std::lock_guard<std::mutex> l(mu_);
  by_id_.clear();
  by_parent_.clear();
  by_id_.reserve(all.size());
  for (auto& e : all) PutLocked(std::move(e), false);
  for (auto& [parent, children] : by_parent_) {
    auto& v = children.entries;
    std::sort(v.begin(), v.end(), [](const CachedEntryPtr& a, const CachedEntryPtr& b) { return a->id < b->id; });
    v.shrink_to_fit();
  }
  last_event_ = latest;
  last_sync_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

absl::Status EntryCache::Refresh() {
  int64_t after;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (std::chrono::steady_clock::now() - last_sync_ > kMaxRefreshGap) {
      after = -1;  // too long without the database: reload below
    } else {
      after = last_event_;
    }
  }
  if (after < 0) return Load();
  ASSIGN_OR_RETURN(auto events, ds_.ListEntryEventsSince(after));
  if (events.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    last_sync_ = std::chrono::steady_clock::now();
    return absl::OkStatus();
  }
  std::vector<std::string> ids;
  for (auto& ev : events) ids.push_back(ev.entry_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ASSIGN_OR_RETURN(std::vector<datastore::RegistrationEntry> fetched, ds_.FetchEntries(ids));
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> present;
  for (auto& e : fetched) {
    present.insert(e.id);
    PutLocked(std::move(e), true);
  }
  for (auto& id : ids) {
    if (!present.count(id)) RemoveLocked(id);
  }
  last_event_ = std::max(last_event_, events.back().event_id);
  last_sync_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void EntryCache::PutLocked(datastore::RegistrationEntry e, bool keep_sorted) {
  RemoveLocked(e.id);
  auto pit = by_parent_.find(e.parent_id);
  if (pit == by_parent_.end()) {
    auto parent = std::make_shared<const std::string>(std::move(e.parent_id));
    const std::string_view key = *parent;  // lives in the string the slot's Children hold
    pit = by_parent_.emplace(key, Children{std::move(parent), {}}).first;
  }
  CachedEntryPtr entry = MakeCachedEntry(std::move(e), pit->second.parent_id);
  std::vector<CachedEntryPtr>& siblings = pit->second.entries;
  if (keep_sorted) {
    siblings.insert(std::lower_bound(siblings.begin(), siblings.end(), entry->id, IdLess), entry);
  } else {
    siblings.push_back(entry);
  }
  const std::string_view key = entry->id;  // lives in the entry the slot holds
  by_id_.emplace(key, std::move(entry));
}

void EntryCache::RemoveLocked(std::string_view id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  const CachedEntry* entry = it->second.get();
  if (auto pit = by_parent_.find(*entry->parent_id); pit != by_parent_.end()) {
    std::vector<CachedEntryPtr>& siblings = pit->second.entries;
    auto pos = std::lower_bound(siblings.begin(), siblings.end(), entry->id, IdLess);
    if (pos != siblings.end() && pos->get() == entry) siblings.erase(pos);
    if (siblings.empty()) by_parent_.erase(pit);
  }
  by_id_.erase(it);
}

std::vector<CachedEntryPtr> EntryCache::AuthorizedEntries(
    const std::string& agent_id, const std::vector<datastore::Selector>& node_selectors) const {
  std::set<datastore::Selector> have(node_selectors.begin(), node_selectors.end());
  std::vector<CachedEntryPtr> out;
  std::lock_guard<std::mutex> l(mu_);
  // Views of agent_id and of spiffe_ids inside cached entries, which the lock keeps alive until the return.
  std::deque<std::string_view> parents{agent_id};
  absl::flat_hash_set<std::string_view> seen_parents{agent_id};
  // Node aliases: entries parented by the server whose selectors the node has.
  if (auto it = by_parent_.find(server_id_); it != by_parent_.end()) {
    for (const CachedEntryPtr& e : it->second.entries) {
      if (e->selectors.empty()) continue;
      bool all = std::all_of(e->selectors.begin(), e->selectors.end(), [&](auto& s) { return have.count(s) > 0; });
      if (all && seen_parents.insert(e->spiffe_id).second) parents.push_back(e->spiffe_id);
    }
  }
  absl::flat_hash_set<const CachedEntry*> emitted;
  while (!parents.empty()) {
    const std::string_view p = parents.front();
    parents.pop_front();
    auto it = by_parent_.find(p);
    if (it == by_parent_.end()) continue;
    for (const CachedEntryPtr& e : it->second.entries) {
      if (!emitted.insert(e.get()).second) continue;
      out.push_back(e);
      if (seen_parents.insert(e->spiffe_id).second) parents.push_back(e->spiffe_id);
    }
  }
  return out;
}

size_t EntryCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return by_id_.size();
}

}  // namespace spirecvm::server
