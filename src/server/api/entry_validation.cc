#include "server/api/entry_validation.h"

#include <regex>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spirecvm::server {
namespace {

bool ValidDnsName(const std::string& d) {
  static const std::regex re(
      R"(^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$)");
  return d.size() <= 253 && std::regex_match(d, re);
}

absl::Status ValidateIds(const spiffe::TrustDomain& td, const datastore::RegistrationEntry& e) {
  auto id = spiffe::SpiffeId::Parse(e.spiffe_id);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid spiffeID \"", e.spiffe_id, "\": ", id.status().message()));
  }
  if (!id->MemberOf(td)) {
    return absl::InvalidArgumentError(absl::StrCat("spiffeID ", e.spiffe_id, " is not in trust domain ", td.name()));
  }
  if (id->path().empty()) {
    return absl::InvalidArgumentError("spiffeID must have a path (the trust domain ID is reserved)");
  }
  if (id->path().rfind("/spire/", 0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("spiffeID ", e.spiffe_id, " is in the reserved /spire namespace"));
  }
  auto parent = spiffe::SpiffeId::Parse(e.parent_id);
  if (!parent.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parentID \"", e.parent_id, "\": ", parent.status().message()));
  }
  if (!parent->MemberOf(td)) {
    return absl::InvalidArgumentError(absl::StrCat("parentID ", e.parent_id, " is not in trust domain ", td.name()));
  }
  return absl::OkStatus();
}

absl::Status ValidateSelectors(const std::vector<datastore::Selector>& selectors) {
  if (selectors.empty()) return absl::InvalidArgumentError("an entry needs at least one selector");
  for (auto& s : selectors) {
    if (s.type.empty() || s.value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector \"", s.type, ":", s.value, "\" must be type:value with both parts non-empty"));
    }
    if (s.type.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("selector type \"", s.type, "\" contains ':'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEntry(const spiffe::TrustDomain& td, const datastore::RegistrationEntry& e) {
  RETURN_IF_ERROR(ValidateIds(td, e));
  RETURN_IF_ERROR(ValidateSelectors(e.selectors));
  if (e.x509_svid_ttl < 0) return absl::InvalidArgumentError("x509SVIDTTL must not be negative");
  if (e.jwt_svid_ttl < 0) return absl::InvalidArgumentError("jwtSVIDTTL must not be negative");
  for (auto& d : e.dns_names) {
    if (!ValidDnsName(d)) {
      return absl::InvalidArgumentError(absl::StrCat("dns name \"", d, "\" is not a valid DNS name"));
    }
  }
  if (e.hint.size() > 1024) return absl::InvalidArgumentError("hint is longer than 1024 bytes");
  return absl::OkStatus();
}

}  // namespace spirecvm::server
