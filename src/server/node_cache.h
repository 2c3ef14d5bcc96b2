// Attested-node records the agent API may use without reading the datastore on every call: SPIRE's
// max_attested_node_info_staleness. Off unless that staleness is positive (SPIRE's default, 0, reads the datastore on
// every agent call).
//
// What it trades: a write to a node (ban, eviction, re-attestation, renewal, new selectors), by this server or by any
// other on the same datastore, reaches the cache when the background loop applies the datastore's node events (every
// cache refresh interval, 1 s by default): until then a call whose SVID serial is the cached record's current serial
// is accepted with the cached record. A serial the record does not hold as current (a renewed SVID, a re-attested
// node) is always judged against the datastore.
//
// How old a record may be: every successful event poll confirms the records it does not drop as current when it
// started. A record answers while it is younger than max_staleness counted from the later of its read and that
// confirmation; so while the events can be read the records stay (no datastore read per call, nor one per record
// every max_staleness), and when they cannot, every record stops answering max_staleness after the last poll.
//
// Memory: one record per attested node that called since start (dropped when an event names it), as SPIRE's cache.
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

  // The record of `spiffe_id`, if no node event applied named it since it was put, and it was put or confirmed by the
  // last successful Refresh less than max_staleness ago; else null.
  std::shared_ptr<const datastore::AttestedNode> Lookup(const std::string& spiffe_id) const;
  // Taken before a record is read from the datastore, and passed to Put with it.
  struct ReadTicket {
    uint64_t generation = 0;
    absl::Time at;  // the record is current as of this instant
  };
  ReadTicket BeginRead() const;
  // Keeps `node`, read from the datastore after BeginRead() returned `ticket`. Not kept when node events were applied
  // in between (they may name this node and be newer than what was read), nor before the first Refresh.
  void Put(datastore::AttestedNode node, const ReadTicket& ticket);
  void Remove(const std::string& spiffe_id);

  // Applies the node events written since the last call, by any server: drops every record they name. The first
  // call records where the events stand; records are kept only from then on.
  absl::Status Refresh();
  size_t size() const;

 private:
  struct Record {
    std::shared_ptr<const datastore::AttestedNode> node;
    absl::Time fetched_at;  // ReadTicket::at
  };

  datastore::DataStore& ds_;
  Clock& clock_;
  const absl::Duration max_staleness_;
  std::mutex refresh_mu_;  // one Refresh at a time; taken before mu_
  mutable std::mutex mu_;
  bool primed_ = false;      // the event position below is known
  absl::Time confirmed_at_;  // when the last successful Refresh started: every record kept is current as of then
  int64_t last_event_ = 0;   // the last node event applied
  uint64_t generation_ = 0;  // advanced whenever events are applied
  absl::flat_hash_map<std::string, Record> by_id_;
};

}  // namespace spirecvm::server
