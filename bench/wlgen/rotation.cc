#include "wlgen/rotation.h"

#include <algorithm>
#include <set>

#include "openssl/sha.h"

namespace spirecvm::wlgen {

Fingerprint FingerprintOf(std::string_view der) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
  Fingerprint fp = 0;
  for (int i = 0; i < 8; ++i) fp = (fp << 8) | digest[i];
  return fp;
}

RotationTracker::RotationTracker(size_t watchers) : slots_(watchers) {}

void RotationTracker::OnSvid(size_t i, Fingerprint fp, Clock::time_point t) {
  std::lock_guard<std::mutex> l(mu_);
  if (i >= slots_.size()) return;
  Slot& s = slots_[i];
  if (!s.has_first) {
    s.has_first = true;
    s.first = s.current = fp;
    return;
  }
  if (fp == s.current) return;  // the same SVID again
  s.current = fp;
  if (!new_) new_ = fp;
  if (fp == *new_ && !s.got_new) s.got_new = t;
}

RotationSummary RotationTracker::SummarizeLocked() const {
  RotationSummary r;
  r.seen = new_.has_value();
  std::set<Fingerprint> initial;
  std::optional<Clock::time_point> first, last;
  for (const Slot& s : slots_) {
    if (!s.has_first) continue;
    ++r.watchers;
    initial.insert(s.first);
    if (s.got_new) {
      ++r.rotated;
      first = first ? std::min(*first, *s.got_new) : *s.got_new;
      last = last ? std::max(*last, *s.got_new) : *s.got_new;
    } else if (new_ && s.first == *new_) {
      ++r.born_with_new;
    } else {
      ++r.missing;
    }
  }
  r.distinct_initial = static_cast<int64_t>(initial.size());
  if (first) r.fanout_ms = std::chrono::duration<double, std::milli>(*last - *first).count();
  return r;
}

RotationSummary RotationTracker::Summarize() const {
  std::lock_guard<std::mutex> l(mu_);
  return SummarizeLocked();
}

bool RotationTracker::Complete() const {
  std::lock_guard<std::mutex> l(mu_);
  const RotationSummary r = SummarizeLocked();
  return r.seen && r.watchers > 0 && r.missing == 0;
}

nlohmann::json RotationSummary::ToJson() const {
  return {{"watchers", watchers},  {"distinct_initial", distinct_initial},
          {"rotated", rotated},    {"born_with_new", born_with_new},
          {"missing", missing},    {"seen", seen},
          {"fanout_ms", fanout_ms}};
}

}  // namespace spirecvm::wlgen
