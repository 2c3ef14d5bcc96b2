#include "spiffe/spiffe_id.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::spiffe {
namespace {

constexpr std::string_view kScheme = "spiffe://";

bool IsTdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'; }

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

absl::Status Bad(std::string_view what, std::string_view input, std::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("invalid ", ToAbsl(what), " \"", ToAbsl(input), "\": ", ToAbsl(rule)));
}

// The broken rule, or empty when `name` is a valid trust domain name.
std::string_view TdRule(std::string_view name) {
  if (name.empty()) return "trust domain is missing";
  for (char c : name) {
    if (IsTdChar(c)) continue;
    if (c == ':') return "port is not allowed";
    if (c == '@') return "userinfo is not allowed";
    if (c == '%') return "percent-encoding is not allowed";
    if (c >= 'A' && c <= 'Z') {
      return "trust domain characters are limited to lowercase letters, numbers, dots, dashes, "
             "and underscores (uppercase is not allowed)";
    }
    return "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and "
           "underscores";
  }
  return {};
}

// The broken rule, or empty when `path` is a valid SPIFFE ID path.
std::string_view PathRule(std::string_view path) {
  if (path.empty()) return {};
  if (path.front() != '/') return "path must start with '/'";
  size_t start = 1;
  for (;;) {
    size_t end = path.find('/', start);
    std::string_view seg = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (seg.empty()) {
      if (end == std::string_view::npos) return "path cannot have a trailing slash";
      return "path cannot contain empty segments";
    }
    if (seg == "." || seg == "..") return "path cannot contain dot segments";
    for (char c : seg) {
      if (IsPathChar(c)) continue;
      if (c == '%') return "percent-encoding is not allowed";
      if (c == '?') return "query is not allowed";
      if (c == '#') return "fragment is not allowed";
      return "path segment characters are limited to letters, numbers, dots, dashes, and "
             "underscores";
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {};
}

}  // namespace

absl::Status ValidateTrustDomainName(std::string_view name) {
  if (std::string_view rule = TdRule(name); !rule.empty()) return Bad("trust domain", name, rule);
  return absl::OkStatus();
}

absl::Status ValidatePath(std::string_view path) {
  if (std::string_view rule = PathRule(path); !rule.empty()) return Bad("path", path, rule);
  return absl::OkStatus();
}

absl::StatusOr<TrustDomain> TrustDomain::Parse(std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("invalid trust domain \"\": trust domain is missing");
  if (s.find("://") != std::string_view::npos || absl::StartsWithIgnoreCase(ToAbsl(s), "spiffe:")) {
    ASSIGN_OR_RETURN(auto id, SpiffeId::Parse(s));
    if (!id.path().empty()) {
      return Bad("trust domain", s, "a trust domain ID must not have a path");
    }
    return id.trust_domain();
  }
  RETURN_IF_ERROR(ValidateTrustDomainName(s));
  return TrustDomain(std::string(s));
}

absl::StatusOr<SpiffeId> SpiffeId::Parse(std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("invalid SPIFFE ID \"\": SPIFFE ID cannot be empty");
  if (s.size() > kMaxSpiffeIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("invalid SPIFFE ID (", s.size(),
                                                   " bytes): SPIFFE ID exceeds the maximum length of ",
                                                   kMaxSpiffeIdLength, " bytes"));
  }
  if (!s.starts_with(kScheme)) {
    return Bad("SPIFFE ID", s, "scheme is missing or invalid (must be lowercase \"spiffe://\")");
  }
  std::string_view rest = s.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  // Query/fragment anywhere (authority or path) are named explicitly.
  if (rest.find('?') != std::string_view::npos) return Bad("SPIFFE ID", s, "query is not allowed");
  if (rest.find('#') != std::string_view::npos) return Bad("SPIFFE ID", s, "fragment is not allowed");
  if (authority.empty()) return Bad("SPIFFE ID", s, "trust domain is missing");
  if (std::string_view rule = TdRule(authority); !rule.empty()) return Bad("SPIFFE ID", s, rule);
  if (std::string_view rule = PathRule(path); !rule.empty()) return Bad("SPIFFE ID", s, rule);
  return SpiffeId(TrustDomain(std::string(authority)), std::string(path));
}

absl::StatusOr<SpiffeId> SpiffeId::FromPath(const TrustDomain& td, std::string_view path) {
  if (td.empty()) return absl::InvalidArgumentError("SPIFFE ID from path: trust domain is empty");
  RETURN_IF_ERROR(ValidatePath(path));
  SpiffeId id(td, std::string(path));
  if (id.ToString().size() > kMaxSpiffeIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPIFFE ID from path: exceeds the maximum length of ", kMaxSpiffeIdLength, " bytes"));
  }
  return id;
}

}  // namespace spirecvm::spiffe
