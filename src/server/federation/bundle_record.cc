#include "server/federation/bundle_record.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spirecvm::server::federation {

absl::StatusOr<spiffe::Bundle> SpiffeBundleFromRecord(const datastore::BundleRecord& r) {
  ASSIGN_OR_RETURN(spiffe::TrustDomain td, spiffe::TrustDomain::Parse(r.trust_domain));
  spiffe::Bundle b{.trust_domain = td,
                   .x509_authorities_der = r.x509_authorities_der,
                   .sequence_number = r.sequence_number,
                   .refresh_hint_seconds = r.refresh_hint_seconds};
  for (const auto& k : r.jwt_keys) {
    b.jwt_authorities.push_back(
        {.kid = k.kid,
         .public_key_der = k.public_key_der,
         .expires_at = k.expires_at == 0 ? absl::InfinitePast() : absl::FromUnixSeconds(k.expires_at)});
  }
  return b;
}

datastore::BundleRecord RecordFromSpiffeBundle(const spiffe::Bundle& b) {
  datastore::BundleRecord r{.trust_domain = b.trust_domain.name(),
                            .x509_authorities_der = b.x509_authorities_der,
                            .jwt_keys = {},
                            .sequence_number = b.sequence_number,
                            .refresh_hint_seconds = b.refresh_hint_seconds};
  for (const auto& k : b.jwt_authorities) {
    r.jwt_keys.push_back({.kid = k.kid,
                          .public_key_der = k.public_key_der,
                          .expires_at = k.expires_at == absl::InfinitePast() ? 0 : absl::ToUnixSeconds(k.expires_at)});
  }
  return r;
}

}  // namespace spirecvm::server::federation
