// X509-SVID chains that verified against one trust bundle, so an agent's calls after the first on a connection skip
// the PEM parsing and the signature check (an agent presents the same SVID on every call). Keyed by the SHA-256 of
// the chain exactly as the TLS layer reported it; an entry answers only while the time is inside the validity of
// every certificate of the verified path (leaf to the bundle root), and belongs to one bundle snapshot
// (BundleSnapshot::verified): a new bundle starts with an empty cache. Failures are never cached.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace spirecvm::server {

struct VerifiedSvid {
  std::string spiffe_id;
  std::string serial;  // the leaf's, decimal
  // The verified path's validity, in the verifier's whole seconds: it holds for from <= now < until.
  int64_t valid_from = 0;
  int64_t valid_until = 0;
};

// Thread-safe.
class VerifiedSvidCache {
 public:
  explicit VerifiedSvidCache(size_t max_entries = kDefaultMaxEntries) : max_entries_(max_entries) {}
  static constexpr size_t kDefaultMaxEntries = 100'000;

  // The chain's earlier verification, if there is one and `now` is inside its validity.
  std::optional<VerifiedSvid> Find(std::string_view chain, absl::Time now) const;
  // Records a chain that verified at some time inside v's validity. When full, the cache starts over (an agent
  // re-verifies once).
  void Put(std::string_view chain, VerifiedSvid v);
  size_t size() const;

 private:
  const size_t max_entries_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, VerifiedSvid> by_hash_;  // SHA-256 of the chain -> result
};

}  // namespace spirecvm::server
