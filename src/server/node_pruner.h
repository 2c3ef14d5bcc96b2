// SPIRE's prune_attested_nodes_expired_for / prune_tofu_nodes: attested nodes whose SVID expired longer ago than
// the configured time are deleted (with their selectors), so agents that went away do not stay listed forever.
// Banned nodes are kept (the ban is what stops them coming back); nodes that cannot re-attest (TOFU attestors such
// as join_token) are deleted only when prune_tofu_nodes is set, as in SPIRE. The background loop calls this hourly.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/datastore/datastore.h"

namespace spirecvm::server {

struct NodePruneOptions {
  absl::Duration expired_for = absl::ZeroDuration();  // 0: pruning off
  bool include_tofu = false;                          // prune_tofu_nodes
};

// Deletes every prunable node and returns how many were deleted. A node's expiry is the later of its current and
// its pending SVID's not-after. A node deleted concurrently (NotFound) is not an error.
absl::StatusOr<int64_t> PruneExpiredNodes(datastore::DataStore& ds, absl::Time now, const NodePruneOptions& opts);

}  // namespace spirecvm::server
