#include "server/entries/entry_cache.h"

#include <algorithm>
#include <deque>

#include "common/status.h"

namespace spirecvm::server {

absl::Status EntryCache::Load() {
  // Read the event position first: an entry written between the two reads is applied twice, which is harmless.
  ASSIGN_OR_RETURN(int64_t latest, ds_.LatestEntryEventId());
  ASSIGN_OR_RETURN(std::vector<datastore::RegistrationEntry> all, ds_.ListEntries(datastore::ListEntriesFilter{}));
  std::lock_guard<std::mutex> l(mu_);
  by_id_.clear();
  by_parent_.clear();
  for (auto& e : all) PutLocked(std::make_shared<const datastore::RegistrationEntry>(std::move(e)));
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
    PutLocked(std::make_shared<const datastore::RegistrationEntry>(std::move(e)));
  }
  for (auto& id : ids) {
    if (!present.count(id)) RemoveLocked(id);
  }
  last_event_ = std::max(last_event_, events.back().event_id);
  last_sync_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void EntryCache::PutLocked(std::shared_ptr<const datastore::RegistrationEntry> e) {
  RemoveLocked(e->id);
  by_parent_[e->parent_id].insert(e->id);
  by_id_[e->id] = std::move(e);
}

void EntryCache::RemoveLocked(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto pit = by_parent_.find(it->second->parent_id);
  if (pit != by_parent_.end()) {
    pit->second.erase(id);
    if (pit->second.empty()) by_parent_.erase(pit);
  }
  by_id_.erase(it);
}

std::vector<std::shared_ptr<const datastore::RegistrationEntry>> EntryCache::AuthorizedEntries(
    const std::string& agent_id, const std::vector<datastore::Selector>& node_selectors) const {
  std::set<datastore::Selector> have(node_selectors.begin(), node_selectors.end());
  std::vector<std::shared_ptr<const datastore::RegistrationEntry>> out;
  std::lock_guard<std::mutex> l(mu_);
  std::deque<std::string> parents{agent_id};
  std::set<std::string> seen_parents{agent_id};
  // Node aliases: entries parented by the server whose selectors the node has.
  if (auto it = by_parent_.find(server_id_); it != by_parent_.end()) {
    for (auto& id : it->second) {
      auto& e = by_id_.at(id);
      if (e->selectors.empty()) continue;
      bool all = std::all_of(e->selectors.begin(), e->selectors.end(), [&](auto& s) { return have.count(s) > 0; });
      if (all && seen_parents.insert(e->spiffe_id).second) parents.push_back(e->spiffe_id);
    }
  }
  std::set<std::string> emitted;
  while (!parents.empty()) {
    std::string p = parents.front();
    parents.pop_front();
    auto it = by_parent_.find(p);
    if (it == by_parent_.end()) continue;
    for (auto& id : it->second) {
      auto& e = by_id_.at(id);
      if (!emitted.insert(id).second) continue;
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
