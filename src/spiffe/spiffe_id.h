// SPIFFE IDs and trust domains, parsed strictly per the SPIFFE ID standard (facts.md §5).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spirecvm::spiffe {

// Maximum length of a SPIFFE ID in bytes (URI form).
inline constexpr size_t kMaxSpiffeIdLength = 2048;

class TrustDomain {
 public:
  // An empty placeholder (name() == ""), only so aggregates holding a TrustDomain are
  // default-constructible. Never valid: Parse is the only way to get a real one.
  TrustDomain() = default;
  bool empty() const { return name_.empty(); }
  // Accepts "example.org" or "spiffe://example.org". Characters allowed: [a-z0-9.-_].
  static absl::StatusOr<TrustDomain> Parse(std::string_view s);
  const std::string& name() const { return name_; }
  std::string IdString() const { return "spiffe://" + name_; }  // "spiffe://example.org"
  friend bool operator==(const TrustDomain&, const TrustDomain&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TrustDomain& td) {
    return H::combine(std::move(h), td.name_);
  }

 private:
  friend class SpiffeId;
  explicit TrustDomain(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

class SpiffeId {
 public:
  // An empty placeholder (ToString() == "spiffe://"); never valid. Use Parse/FromPath.
  SpiffeId() = default;
  bool empty() const { return td_.empty(); }
  // Every rule of the SPIFFE ID standard; the error says which rule was broken.
  static absl::StatusOr<SpiffeId> Parse(std::string_view s);
  // path is "" or "/a/b" (segments [a-zA-Z0-9.-_], no empty/./.. segments, no trailing slash).
  static absl::StatusOr<SpiffeId> FromPath(const TrustDomain& td, std::string_view path);
  const TrustDomain& trust_domain() const { return td_; }
  const std::string& path() const { return path_; }  // "" or "/a/b"
  std::string ToString() const { return td_.IdString() + path_; }
  bool MemberOf(const TrustDomain& td) const { return td_ == td; }
  friend bool operator==(const SpiffeId&, const SpiffeId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SpiffeId& id) {
    return H::combine(std::move(h), id.td_, id.path_);
  }

 private:
  SpiffeId(TrustDomain td, std::string path) : td_(std::move(td)), path_(std::move(path)) {}
  TrustDomain td_;
  std::string path_;
};

// Validates a trust domain name (without scheme); the error says which rule was broken.
absl::Status ValidateTrustDomainName(std::string_view name);
// Validates a SPIFFE ID path ("" or "/seg/seg"); the error says which rule was broken.
absl::Status ValidatePath(std::string_view path);

}  // namespace spirecvm::spiffe
