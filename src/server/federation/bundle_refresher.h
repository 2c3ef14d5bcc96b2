// Keeps the bundles of the trust domains we federate with up to date: each relationship's endpoint is fetched when
// the refresher starts and again after the refresh hint the fetched bundle carries (5 minutes when it carries none;
// 10 seconds after a failure, or sooner when the hint is shorter). A fetched bundle replaces the stored one (the
// DataStore holds federated bundles beside ours) only when it differs. https_spiffe needs a bundle already stored
// for the domain (bootstrap it with `bundle set`); each fetch authenticates the endpoint against the held bundle.
//
// Thread-safety: Start/Stop from the owner; RefreshNow from any thread (the admin API), serialized with the loop.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "server/config/federation_config.h"
#include "server/datastore/datastore.h"

namespace spirecvm::server::federation {

struct BundleRefresherDeps {
  datastore::DataStore& ds;
  Clock& clock;
  // The relationships to keep fresh (the configured ones and those made through the API); called on the loop.
  std::function<std::vector<FederationRelationship>()> relationships;
  absl::Duration fetch_timeout = absl::Seconds(10);
};

class BundleRefresher {
 public:
  explicit BundleRefresher(BundleRefresherDeps deps) : deps_(std::move(deps)) {}
  ~BundleRefresher() { Stop(); }

  void Start();
  void Stop();  // idempotent
  // Fetches one relationship's bundle now and stores it. NotFound when no relationship names the domain.
  absl::Status RefreshNow(const std::string& trust_domain);
  // One pass: fetches every relationship that is due. Call directly only when the thread is not running.
  void Tick();
  // When the relationship's bundle is next due (InfinitePast before its first fetch).
  absl::Time NextRefresh(const std::string& trust_domain);

 private:
  absl::Status Refresh(const FederationRelationship& rel);
  absl::Status FetchAndStore(const FederationRelationship& rel, absl::Duration* hint);
  void Run();

  BundleRefresherDeps deps_;
  std::mutex refresh_mu_;  // one fetch-and-store at a time
  std::mutex mu_;          // guards next_, stopping_
  std::map<std::string, absl::Time> next_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace spirecvm::server::federation
