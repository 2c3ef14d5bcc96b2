#include "agent/workload/stream_limiter.h"

namespace spirecvm::agent {

bool StreamLimiter::Acquire(uid_t uid) {
  std::lock_guard<std::mutex> l(mu_);
  size_t& n = in_use_[uid];
  if (n >= max_per_uid_) return false;
  ++n;
  return true;
}

void StreamLimiter::Release(uid_t uid) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = in_use_.find(uid);
  if (it == in_use_.end()) return;
  if (--it->second == 0) in_use_.erase(it);
}

size_t StreamLimiter::InUse(uid_t uid) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = in_use_.find(uid);
  return it == in_use_.end() ? 0 : it->second;
}

}  // namespace spirecvm::agent
