#include "server/node_cache.h"

#include <algorithm>

#include "common/status.h"

namespace spirecvm::server {

std::shared_ptr<const datastore::AttestedNode> NodeCache::Lookup(const std::string& spiffe_id) const {
  if (!enabled()) return nullptr;
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_id_.find(spiffe_id);
  if (it == by_id_.end()) return nullptr;
  // Current as of its read, or as of the last event poll that found nothing about it, whichever is later.
  const absl::Time as_of = std::max(it->second.fetched_at, confirmed_at_);
  if (now - as_of >= max_staleness_) return nullptr;
  return it->second.node;
}

NodeCache::ReadTicket NodeCache::BeginRead() const {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> l(mu_);
  return {generation_, now};
}

void NodeCache::Put(datastore::AttestedNode node, const ReadTicket& ticket) {
  if (!enabled()) return;
  std::string id = node.spiffe_id;
  auto shared = std::make_shared<const datastore::AttestedNode>(std::move(node));
  std::lock_guard<std::mutex> l(mu_);
  if (!primed_ || ticket.generation != generation_) return;
  by_id_.insert_or_assign(std::move(id), Record{std::move(shared), ticket.at});
}

void NodeCache::Remove(const std::string& spiffe_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = by_id_.find(spiffe_id); it != by_id_.end()) by_id_.erase(it);
}

absl::Status NodeCache::Refresh() {
  if (!enabled()) return absl::OkStatus();
  std::lock_guard<std::mutex> one(refresh_mu_);
  // Every write committed before this instant has its event visible to the query below (event ids become visible in
  // id order), so what the query does not drop is current as of this instant.
  const absl::Time started = clock_.Now();
  bool primed = false;
  int64_t after = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    primed = primed_;
    after = last_event_;
  }
  if (!primed) {
    ASSIGN_OR_RETURN(int64_t latest, ds_.LatestNodeEventId());
    std::lock_guard<std::mutex> l(mu_);
    last_event_ = latest;
    confirmed_at_ = started;
    primed_ = true;
    ++generation_;
    by_id_.clear();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<datastore::NodeEvent> events, ds_.ListNodeEventsSince(after));
  std::lock_guard<std::mutex> l(mu_);
  confirmed_at_ = started;
  if (events.empty()) return absl::OkStatus();
  for (const auto& e : events) {
    if (auto it = by_id_.find(e.spiffe_id); it != by_id_.end()) by_id_.erase(it);
  }
  last_event_ = events.back().event_id;
  ++generation_;
  return absl::OkStatus();
}

size_t NodeCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return by_id_.size();
}

}  // namespace spirecvm::server
