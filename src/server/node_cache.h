// Attested-node records the agent API may use without reading the datastore on every call: SPIRE's
// max_attested_node_info_staleness. Off unless that staleness is positive (SPIRE's default, 0, reads the datastore on
// every agent call).
//
// What it trades: a write to a node (ban, eviction, re-attestation, renewal, new selectors), by this server or by any
// other on the same datastore, reaches the cache when the background loop applies the datastore's node events (every
// cache refresh interval, 1 s by default), and at the latest when the record is max_staleness old: until then a call
// whose SVID serial is the cached record's current serial is accepted with the cached record. A serial the record
// does not hold as current (a renewed SVID, a re-attested node) is always judged against the datastore.
//
// Thread-safe: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/datastore/datastore.h"

namespace spirecvm::server {

class NodeCache {
 public:
  NodeCache(datastore::DataStore& ds, Clock& clock, absl::Duration max_staleness)
      : ds_(ds), clock_(clock), max_staleness_(max_staleness) {}

  bool enabled() const { return max_staleness_ > absl::ZeroDuration(); }

  // The record of `spiffe_id`, if it was put less than max_staleness ago and no node event named it since; else null.
  std::shared_ptr<const datastore::AttestedNode> Lookup(const std::string& spiffe_id) const;
  // Read before a record is fetched from the datastore, and passed to Put with it.
  uint64_t Generation() const;
  // Keeps `node`, read from the datastore after Generation() returned `generation`. Not kept when node events were
  // applied in between (they may name this node and be newer than what was read), nor before the first Refresh.
  void Put(datastore::AttestedNode node, uint64_t generation);
  void Remove(const std::string& spiffe_id);

  // Applies the node events written since the last call, by any server: drops every record they name. The first
  // call records where the events stand; records are kept only from then on.
  absl::Status Refresh();
  size_t size() const;

 private:
  struct Record {
    std::shared_ptr<const datastore::AttestedNode> node;
    absl::Time fetched_at;
  };

  datastore::DataStore& ds_;
  Clock& clock_;
  const absl::Duration max_staleness_;
  std::mutex refresh_mu_;  // one Refresh at a time; taken before mu_
  mutable std::mutex mu_;
  bool primed_ = false;      // the event position below is known
  int64_t last_event_ = 0;   // the last node event applied
  uint64_t generation_ = 0;  // advanced whenever events are applied
  absl::flat_hash_map<std::string, Record> by_id_;
};

}  // namespace spirecvm::server
