#include "server/federation/bundle_refresher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "server/federation/bundle_fetch.h"
#include "server/federation/bundle_record.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::federation {
namespace {

constexpr absl::Duration kDefaultRefresh = absl::Minutes(5);
constexpr absl::Duration kRetryAfterFailure = absl::Seconds(10);

bool SameContent(const datastore::BundleRecord& a, const datastore::BundleRecord& b) {
  if (a.x509_authorities_der != b.x509_authorities_der || a.sequence_number != b.sequence_number ||
      a.refresh_hint_seconds != b.refresh_hint_seconds || a.jwt_keys.size() != b.jwt_keys.size()) {
    return false;
  }
  for (size_t i = 0; i < a.jwt_keys.size(); ++i) {
    if (a.jwt_keys[i].kid != b.jwt_keys[i].kid || a.jwt_keys[i].public_key_der != b.jwt_keys[i].public_key_der) {
      return false;
    }
  }
  return true;
}

}  // namespace

// Fetches the relationship's bundle and stores it when it changed; `hint` receives the fetched refresh hint.
absl::Status BundleRefresher::FetchAndStore(const FederationRelationship& rel, absl::Duration* hint) {
  const std::string& td = rel.trust_domain.name();
  auto held = deps_.ds.FetchBundle(td);
  if (!held.ok() && !absl::IsNotFound(held.status())) return held.status();
  FetchRequest req{.relationship = rel, .now = deps_.clock.Now(), .timeout = deps_.fetch_timeout};
  if (rel.profile == BundleEndpointProfile::kHttpsSpiffe) {
    if (!held.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no bundle held for \"", td, "\" to authenticate its https_spiffe endpoint; bootstrap it with `bundle set`"));
    }
    req.roots_der = held->x509_authorities_der;
  }
  ASSIGN_OR_RETURN(spiffe::Bundle fetched, FetchFederatedBundle(req));
  if (fetched.refresh_hint_seconds > 0) *hint = absl::Seconds(fetched.refresh_hint_seconds);
  datastore::BundleRecord rec = RecordFromSpiffeBundle(fetched);
  if (held.ok() && SameContent(*held, rec)) return absl::OkStatus();
  RETURN_IF_ERROR(deps_.ds.SetBundle(rec).status());
  spdlog::info("federation: bundle of \"{}\" updated (sequence {}, {} X.509 and {} JWT authorities)", td,
               rec.sequence_number, rec.x509_authorities_der.size(), rec.jwt_keys.size());
  return absl::OkStatus();
}

absl::Status BundleRefresher::Refresh(const FederationRelationship& rel) {
  std::lock_guard<std::mutex> serial(refresh_mu_);
  absl::Duration hint = absl::ZeroDuration();
  absl::Status st = FetchAndStore(rel, &hint);
  absl::Duration next = hint > absl::ZeroDuration() ? hint : kDefaultRefresh;
  if (!st.ok()) {
    spdlog::warn("federation: refreshing the bundle of \"{}\" from {}: {}", rel.trust_domain.name(),
                 rel.bundle_endpoint_url, st.ToString());
    next = std::min(next, kRetryAfterFailure);
  }
  std::lock_guard<std::mutex> l(mu_);
  next_[rel.trust_domain.name()] = deps_.clock.Now() + next;
  return st;
}

absl::Status BundleRefresher::RefreshNow(const std::string& trust_domain) {
  for (const auto& rel : deps_.relationships()) {
    if (rel.trust_domain.name() == trust_domain) return Refresh(rel);
  }
  return absl::NotFoundError(absl::StrCat("no federation relationship with \"", trust_domain, "\""));
}

absl::Time BundleRefresher::NextRefresh(const std::string& trust_domain) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = next_.find(trust_domain);
  return it == next_.end() ? absl::InfinitePast() : it->second;
}

void BundleRefresher::Tick() {
  for (const auto& rel : deps_.relationships()) {
    if (NextRefresh(rel.trust_domain.name()) > deps_.clock.Now()) continue;
    (void)Refresh(rel);  // logged; retried when due again
  }
}

void BundleRefresher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void BundleRefresher::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    l.unlock();
    Tick();
    l.lock();
    cv_.wait_for(l, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

void BundleRefresher::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace spirecvm::server::federation
