#include "server/entries/entry_cache.h"

#include <algorithm>
#include <deque>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "common/status.h"

namespace spirecvm::server {
namespace {

bool IdLess(const std::shared_ptr<const datastore::RegistrationEntry>& a, std::string_view id) { return a->id < id; }

}  // namespace

absl::Status EntryCache::Load() {
  // Read the event position first: an entry written between the two reads is applied twice, which is harmless.
  ASSIGN_OR_RETURN(int64_t latest, ds_.LatestEntryEventId());
  ASSIGN_OR_RETURN(std::vector<datastore::RegistrationEntry> all, ds_.ListEntries(datastore::ListEntriesFilter{}));
  std::lock_guard<std::mutex> l(mu_);
  by_id_.clear();
  by_parent_.clear();
  by_id_.reserve(all.size());
  for (auto& e : all) PutLocked(std::make_shared<const datastore::RegistrationEntry>(std::move(e)), false);
  for (auto& [parent, entries] : by_parent_) {
    std::sort(entries.begin(), entries.end(), [](const EntryPtr& a, const EntryPtr& b) { return a->id < b->id; });
    entries.shrink_to_fit();
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
    PutLocked(std::make_shared<const datastore::RegistrationEntry>(std::move(e)), true);
  }
  for (auto& id : ids) {
    if (!present.count(id)) RemoveLocked(id);
  }
  last_event_ = std::max(last_event_, events.back().event_id);
  last_sync_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void EntryCache::PutLocked(EntryPtr e, bool keep_sorted) {
  RemoveLocked(e->id);
  std::vector<EntryPtr>& siblings = by_parent_[e->parent_id];
  if (keep_sorted) {
    siblings.insert(std::lower_bound(siblings.begin(), siblings.end(), e->id, IdLess), e);
  } else {
    siblings.push_back(e);
  }
  const std::string_view key = e->id;  // lives in the entry the slot holds
  by_id_.emplace(key, std::move(e));
}

void EntryCache::RemoveLocked(std::string_view id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  const datastore::RegistrationEntry* entry = it->second.get();
  if (auto pit = by_parent_.find(entry->parent_id); pit != by_parent_.end()) {
    std::vector<EntryPtr>& siblings = pit->second;
    auto pos = std::lower_bound(siblings.begin(), siblings.end(), entry->id, IdLess);
    if (pos != siblings.end() && pos->get() == entry) siblings.erase(pos);
    if (siblings.empty()) by_parent_.erase(pit);
  }
  by_id_.erase(it);
}

std::vector<std::shared_ptr<const datastore::RegistrationEntry>> EntryCache::AuthorizedEntries(
    const std::string& agent_id, const std::vector<datastore::Selector>& node_selectors) const {
  std::set<datastore::Selector> have(node_selectors.begin(), node_selectors.end());
  std::vector<std::shared_ptr<const datastore::RegistrationEntry>> out;
  std::lock_guard<std::mutex> l(mu_);
  // Views of agent_id and of spiffe_ids inside cached entries, which the lock keeps alive until the return.
  std::deque<std::string_view> parents{agent_id};
  absl::flat_hash_set<std::string_view> seen_parents{agent_id};
  // Node aliases: entries parented by the server whose selectors the node has.
  if (auto it = by_parent_.find(server_id_); it != by_parent_.end()) {
    for (const EntryPtr& e : it->second) {
      if (e->selectors.empty()) continue;
      bool all = std::all_of(e->selectors.begin(), e->selectors.end(), [&](auto& s) { return have.count(s) > 0; });
      if (all && seen_parents.insert(e->spiffe_id).second) parents.push_back(e->spiffe_id);
    }
  }
  absl::flat_hash_set<const datastore::RegistrationEntry*> emitted;
  while (!parents.empty()) {
    const std::string_view p = parents.front();
    parents.pop_front();
    // absl's string hash takes absl::string_view, which Debian's Abseil does not alias to std::string_view.
    auto it = by_parent_.find(absl::string_view(p.data(), p.size()));
    if (it == by_parent_.end()) continue;
    for (const EntryPtr& e : it->second) {
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
