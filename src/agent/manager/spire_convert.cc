#include "agent/manager/spire_convert.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::agent {

absl::StatusOr<std::string> SpiffeIdFromSpire(const ::spire::api::types::SPIFFEID& id) {
  if (id.trust_domain().empty()) return absl::InvalidArgumentError("SPIFFE ID has no trust domain");
  ASSIGN_OR_RETURN(spiffe::SpiffeId parsed,
                   spiffe::SpiffeId::Parse(absl::StrCat("spiffe://", id.trust_domain(), id.path())));
  return parsed.ToString();
}

spiffe::Bundle BundleFromSpire(const spiffe::TrustDomain& td, const ::spire::api::types::Bundle& b) {
  spiffe::Bundle out;
  out.trust_domain = td;
  for (const auto& a : b.x509_authorities()) out.x509_authorities_der.push_back(a.asn1());
  for (const auto& k : b.jwt_authorities()) {
    spiffe::JwtAuthority a;
    a.kid = k.key_id();
    a.public_key_der = k.public_key();
    a.expires_at = k.expires_at() == 0 ? absl::InfinitePast() : absl::FromUnixSeconds(k.expires_at());
    out.jwt_authorities.push_back(std::move(a));
  }
  out.sequence_number = b.sequence_number();
  out.refresh_hint_seconds = b.refresh_hint();
  return out;
}

}  // namespace spirecvm::agent
