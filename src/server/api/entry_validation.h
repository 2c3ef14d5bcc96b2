// The checks of a registration entry as an operator wrote it, shared by SPIRE's entry and agent APIs.
#pragma once

#include "absl/status/status.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// Checks an entry as an operator wrote it; every reason names the field.
absl::Status ValidateEntry(const spiffe::TrustDomain& td, const datastore::RegistrationEntry& e);

}  // namespace spirecvm::server
