// NodeAttestor "join_token": single-use, expiring tokens made with `spire-server token generate`. The attestor
// checks the token's form and names the agent; the token itself is spent by the node's admission, in the same
// DataStore transaction (AttestationResult::join_token, DataStore::AdmitAttestedNodeWithJoinToken).
#pragma once

#include <memory>

#include "server/nodeattest/node_attestor.h"

namespace spirecvm::server {

std::unique_ptr<NodeAttestor> NewJoinTokenAttestor(const spiffe::TrustDomain& td);

}  // namespace spirecvm::server
