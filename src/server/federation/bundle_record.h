// A stored bundle (datastore::BundleRecord) in its SPIFFE form and back: what the bundle endpoint serves and what a
// fetched federated bundle is stored as. Tainted marks are a local matter and are not carried.
#pragma once

#include "server/datastore/datastore.h"
#include "spiffe/bundle.h"

namespace spirecvm::server::federation {

absl::StatusOr<spiffe::Bundle> SpiffeBundleFromRecord(const datastore::BundleRecord& r);
datastore::BundleRecord RecordFromSpiffeBundle(const spiffe::Bundle& b);

}  // namespace spirecvm::server::federation
