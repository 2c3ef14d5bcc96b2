#include "server/background.h"

#include "spdlog/spdlog.h"

namespace spirecvm::server {

void BackgroundLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void BackgroundLoop::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, absl::ToChronoMilliseconds(deps_.interval), [this] { return stopping_; });
    if (stopping_) break;
    l.unlock();
    Tick();
    l.lock();
  }
}

void BackgroundLoop::Tick() {
  if (auto st = deps_.entries.Refresh(); !st.ok()) {
    spdlog::warn("entry cache refresh: {}", st.ToString());
  } else {
    deps_.metrics.entry_cache_refreshes++;
  }
  if (deps_.nodes != nullptr) {
    if (auto st = deps_.nodes->Refresh(); !st.ok()) spdlog::warn("attested node cache refresh: {}", st.ToString());
  }
  absl::Time now = deps_.clock.Now();
  if (now - last_rotate_ >= absl::Seconds(1)) {
    last_rotate_ = now;
    if (auto st = deps_.ca.Rotate(); !st.ok()) spdlog::error("CA rotation: {}", st.ToString());
    if (auto st = deps_.svid.Rotate(false); !st.ok()) spdlog::error("server SVID rotation: {}", st.ToString());
  }
  // After any rotation above, and every tick for authorities other servers published.
  if (auto st = deps_.bundle.Refresh(); !st.ok()) spdlog::warn("trust bundle refresh: {}", st.ToString());
  if (now - last_prune_ >= absl::Seconds(30)) {
    last_prune_ = now;
    int64_t t = absl::ToUnixSeconds(now);
    // Best effort: what is not pruned now is pruned on a later pass.
    (void)deps_.ds.PruneJoinTokens(t);
    (void)deps_.ds.PruneEntries(t);  // entries created with -entryExpiry
    (void)deps_.ds.PruneNonces(t);
    (void)deps_.ds.PruneBundle(deps_.trust_domain, t);
    (void)deps_.ds.PruneEvents(t - absl::ToInt64Seconds(datastore::kEventRetention));
  }
  if (deps_.node_prune.expired_for > absl::ZeroDuration() && now - last_node_prune_ >= absl::Hours(1)) {
    last_node_prune_ = now;
    if (auto n = PruneExpiredNodes(deps_.ds, now, deps_.node_prune); !n.ok()) {
      spdlog::warn("attested node pruning: {}", n.status().ToString());
    }
  }
}

}  // namespace spirecvm::server
