// The server's background loop: one thread that, every cache refresh interval, brings the entry cache
// and the attested node cache up to date, rotates the CA and the server's own SVID (at most once a second), refreshes
// the trust bundle cache, and prunes expired rows (every 30 seconds) and long-expired attested nodes (hourly, when
// prune_attested_nodes_expired_for is set).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "common/clock.h"
#include "server/bundle_cache.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/metrics.h"
#include "server/node_cache.h"
#include "server/node_pruner.h"
#include "server/server_svid.h"

namespace spirecvm::server {

struct BackgroundDeps {
  EntryCache& entries;
  CaManager& ca;
  ServerSvid& svid;  // only this thread rotates it once the loop runs
  BundleCache& bundle;
  datastore::DataStore& ds;
  Metrics& metrics;
  Clock& clock;
  std::string trust_domain;
  absl::Duration interval;        // experimental.cache_reload_interval
  NodePruneOptions node_prune{};  // prune_attested_nodes_expired_for: hourly when set
  NodeCache* nodes = nullptr;     // refreshed with the entry cache when set
};

class BackgroundLoop {
 public:
  explicit BackgroundLoop(BackgroundDeps deps) : deps_(std::move(deps)) {}
  ~BackgroundLoop() { Stop(); }

  void Start();
  // Wakes the thread and joins it. Idempotent.
  void Stop();
  // One pass of the loop (what the thread runs every interval); call directly only when the thread is not running.
  void Tick();

 private:
  void Run();

  BackgroundDeps deps_;
  absl::Time last_rotate_ = absl::InfinitePast();
  absl::Time last_prune_ = absl::InfinitePast();
  absl::Time last_node_prune_ = absl::InfinitePast();
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace spirecvm::server
