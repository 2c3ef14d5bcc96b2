// SPIRE's wire types (spire.api.types) in the agent's forms.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "spiffe/bundle.h"
#include "spire/api/types/bundle.pb.h"
#include "spire/api/types/spiffeid.pb.h"

namespace spirecvm::agent {

// {trust_domain, path} -> "spiffe://td/path", checked to be a valid SPIFFE ID.
absl::StatusOr<std::string> SpiffeIdFromSpire(const ::spire::api::types::SPIFFEID& id);

// The server's bundle for `td`. Tainted authorities stay trusted (SPIRE's agent keeps them until they are removed).
spiffe::Bundle BundleFromSpire(const spiffe::TrustDomain& td, const ::spire::api::types::Bundle& b);

}  // namespace spirecvm::agent
