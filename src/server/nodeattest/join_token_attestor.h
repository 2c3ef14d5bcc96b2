// NodeAttestor "join_token": single-use, expiring tokens made with `spire-server token generate`.
#pragma once

#include <memory>

#include "common/clock.h"
#include "server/nodeattest/node_attestor.h"

namespace spirecvm::server {

std::unique_ptr<NodeAttestor> NewJoinTokenAttestor(const spiffe::TrustDomain& td, datastore::DataStore& ds,
                                                   Clock& clock);

}  // namespace spirecvm::server
