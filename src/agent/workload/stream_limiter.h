// Bounds the Workload API streams one uid may hold open at once (each costs a cache subscription and memory), so
// one local user cannot exhaust the agent for the others. Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <mutex>

#include "absl/container/flat_hash_map.h"

namespace spirecvm::agent {

class StreamLimiter {
 public:
  explicit StreamLimiter(size_t max_per_uid) : max_per_uid_(max_per_uid) {}
  // Takes a slot for uid; false when uid already holds max_per_uid streams.
  [[nodiscard]] bool Acquire(uid_t uid);
  // Returns a slot taken by Acquire.
  void Release(uid_t uid);
  size_t InUse(uid_t uid) const;

 private:
  const size_t max_per_uid_;
  mutable std::mutex mu_;
  absl::flat_hash_map<uid_t, size_t> in_use_;
};

}  // namespace spirecvm::agent
