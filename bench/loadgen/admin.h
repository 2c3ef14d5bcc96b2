// Set-up through the server's admin API on its local socket (the same calls SPIRE's and spire-cvm's CLIs make):
// join tokens for the simulated agents, and registration entries parented to those agents.
// Not thread-safe; called once before the load starts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace spirecvm::loadgen {

struct AdminTarget {
  std::string socket_path;  // the server's admin socket (socket_path in its config)
  std::string trust_domain;
};

// n tokens from Agent.CreateJoinToken (ttl seconds).
absl::StatusOr<std::vector<std::string>> CreateJoinTokens(const AdminTarget& admin, int n, int ttl_seconds);

// m entries through Entry.BatchCreateEntry in batches: entry k belongs to agent k % tokens.size()
// (parent spiffe://<td>/spire/agent/join_token/<token>), SPIFFE ID spiffe://<td>/load/<agent>/w<k>, selector
// unix:uid:<k>. Fails on the first entry the server refuses, naming it.
absl::Status CreateEntries(const AdminTarget& admin, const std::vector<std::string>& tokens, int m);

// A channel to the admin socket that has made one callback-API call (a health check), to be held for the whole
// run. gRPC 1.51 serves callback calls from a process-wide completion queue that is shut down when the last channel
// that used it goes away; without this, the first agent's attestation channel, released inside its own completion
// callback, would be that last channel and the queue would be torn down from one of its own threads (a double
// free in grpc_cq_internal_unref, seen here).
absl::StatusOr<std::shared_ptr<grpc::Channel>> PinCallbackQueue(const AdminTarget& admin);

}  // namespace spirecvm::loadgen
