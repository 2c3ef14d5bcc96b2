#include "server/node_pruner.h"

#include <algorithm>

#include "common/status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {

absl::StatusOr<int64_t> PruneExpiredNodes(datastore::DataStore& ds, absl::Time now, const NodePruneOptions& opts) {
  if (opts.expired_for <= absl::ZeroDuration()) return 0;
  const int64_t cutoff = absl::ToUnixSeconds(now - opts.expired_for);
  ASSIGN_OR_RETURN(std::vector<datastore::AttestedNode> nodes, ds.ListAttestedNodes());
  int64_t pruned = 0;
  for (const auto& n : nodes) {
    if (n.banned) continue;
    if (!n.can_reattest && !opts.include_tofu) continue;
    const int64_t expiry = std::max(n.cert_not_after, n.new_cert_not_after);
    if (expiry >= cutoff) continue;
    absl::Status st = ds.DeleteAttestedNode(n.spiffe_id);
    if (absl::IsNotFound(st)) continue;
    RETURN_IF_ERROR(st);
    spdlog::info("pruned attested node {} (SVID expired at unix {})", n.spiffe_id, expiry);
    ++pruned;
  }
  return pruned;
}

}  // namespace spirecvm::server
