#include "server/verified_svid_cache.h"

#include "crypto/keys.h"

namespace spirecvm::server {

std::optional<VerifiedSvid> VerifiedSvidCache::Find(std::string_view chain, absl::Time now) const {
  const std::string key = crypto::Sha256(chain);
  const int64_t t = absl::ToUnixSeconds(now);  // the verifier's clock resolution (X509_STORE_CTX_set_time)
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_hash_.find(key);
  if (it == by_hash_.end() || t < it->second.valid_from || t >= it->second.valid_until) return std::nullopt;
  return it->second;
}

void VerifiedSvidCache::Put(std::string_view chain, VerifiedSvid v) {
  std::string key = crypto::Sha256(chain);
  std::lock_guard<std::mutex> l(mu_);
  if (by_hash_.size() >= max_entries_) by_hash_.clear();
  by_hash_.insert_or_assign(std::move(key), std::move(v));
}

size_t VerifiedSvidCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return by_hash_.size();
}

}  // namespace spirecvm::server
