#include "server/bundle_cache.h"

#include "common/status.h"
#include "crypto/x509.h"

namespace spirecvm::server {

absl::Status BundleCache::Refresh() {
  ASSIGN_OR_RETURN(datastore::BundleRecord rec, ds_.FetchBundle(td_));
  {
    std::lock_guard<std::mutex> l(mu_);
    if (snap_ != nullptr && snap_->record.sequence_number == rec.sequence_number &&
        snap_->record.x509_authorities_der == rec.x509_authorities_der) {
      return absl::OkStatus();
    }
  }
  auto next = std::make_shared<BundleSnapshot>();
  for (auto& der : rec.x509_authorities_der) {
    auto c = crypto::ParseCertDer(der);
    if (c.ok()) next->roots.push_back(std::move(*c));
  }
  next->record = std::move(rec);
  std::lock_guard<std::mutex> l(mu_);
  // Two refreshes can overlap (the background loop, and Get on first use); the one that read the database first
  // may finish last. The sequence number only grows, so never step back to an older bundle.
  if (snap_ == nullptr || next->record.sequence_number >= snap_->record.sequence_number) snap_ = std::move(next);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const BundleSnapshot>> BundleCache::Get() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (snap_ != nullptr) return snap_;
  }
  RETURN_IF_ERROR(Refresh());
  std::lock_guard<std::mutex> l(mu_);
  return snap_;
}

}  // namespace spirecvm::server
