// Randomness is injected: production code uses the OpenSSL CSPRNG, tests may use a seeded source.
#pragma once

#include <openssl/rand.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/types/span.h"

namespace spirecvm {

// Thread-safety contract: one Random is shared by the whole process (gRPC handler threads, background loops,
// the datastore), so every implementation must allow Fill and Bytes to be called from several threads at once,
// with no external locking, and each call must get bytes no other call gets.
class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(absl::Span<uint8_t> out) = 0;
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(s.data()), s.size()));
    return s;
  }
};

// The OpenSSL CSPRNG (RAND_bytes is thread-safe in OpenSSL 3). A failure of RAND_bytes means the process cannot make
// keys or nonces safely: it aborts rather than continue with predictable bytes.
class SystemRandom final : public Random {
 public:
  void Fill(absl::Span<uint8_t> out) override {
    if (out.empty()) return;
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
  }
  static SystemRandom& Get() {
    static SystemRandom r;
    return r;
  }
};

// Deterministic bytes for tests only (xorshift64*); never use for keys or nonces in production. A mutex makes
// each Fill atomic, so concurrent callers draw disjoint stretches of one stream (which caller gets which stretch
// depends on scheduling; a single-threaded test sees the same bytes for the same seed).
class TestOnlyDeterministicRandom final : public Random {
 public:
  explicit TestOnlyDeterministicRandom(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  void Fill(absl::Span<uint8_t> out) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& b : out) {
      state_ ^= state_ >> 12;
      state_ ^= state_ << 25;
      state_ ^= state_ >> 27;
      b = static_cast<uint8_t>((state_ * 0x2545F4914F6CDD1Dull) >> 56);
    }
  }

 private:
  std::mutex mu_;
  uint64_t state_;  // guarded by mu_
};

}  // namespace spirecvm
