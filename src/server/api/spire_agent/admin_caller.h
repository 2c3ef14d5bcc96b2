// Admin callers over TLS on the agent endpoint, as SPIRE: a caller whose X509-SVID verifies (against our bundle, or
// the stored federated bundle of its trust domain) and whose SPIFFE ID is one of the configured admin_ids, or is
// the SPIFFE ID of an entry with admin = true, may call the admin APIs (entry, agent, bundle, SVID mint) there. The
// agent-endpoint services forward such calls to the admin socket's services (api/spire); everyone else gets
// PermissionDenied.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "grpcpp/server_context.h"
#include "server/api/spire_agent/unary_call.h"
#include "server/bundle_cache.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server::spireagent {

// What admin authentication reads. Thread-safe: every member is; admin_ids is immutable.
struct AdminCallerDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  BundleCache& bundle;
  Clock& clock;
  const std::vector<std::string>& admin_ids;  // SPIFFE IDs, normalised by the config parser
};

// The caller's SPIFFE ID if the chain (PEM, leaf first) is a valid X509-SVID of an admin. Unauthenticated when it
// does not verify; PermissionDenied when it does but the ID is no admin.
absl::StatusOr<spiffe::SpiffeId> AuthenticateAdminChain(const AdminCallerDeps& deps, const std::string& chain_pem);
// The same for the TLS peer of a call; a null context (no transport) is Unauthenticated.
absl::StatusOr<spiffe::SpiffeId> AuthenticateAdmin(const AdminCallerDeps& deps, const grpc::ServerContextBase* ctx);

// An admin-socket service, reachable to admin callers on the agent endpoint. Default: admin callers over TLS off.
template <typename Service>
struct AdminDelegate {
  const AdminCallerDeps* auth = nullptr;
  Service* service = nullptr;
};

// Finishes the call with call(service)'s status for an admin caller, run on the blocking pool (the admin services
// write to the datastore); PermissionDenied (naming the method and why) for anyone else, at once.
grpc::Status AdminDenied(std::string_view method, const absl::Status& why);
template <typename Service, typename Call>
grpc::ServerUnaryReactor* ForAdmin(const AdminDelegate<Service>& d, WorkerPool* pool, grpc::CallbackServerContext* ctx,
                                   std::string_view method, Call call) {
  if (d.auth == nullptr || d.service == nullptr) {
    return FinishUnary(ctx, AdminDenied(method, absl::PermissionDeniedError("admin callers over TLS are not enabled")));
  }
  auto id = AuthenticateAdmin(*d.auth, ctx);
  if (!id.ok()) return FinishUnary(ctx, AdminDenied(method, id.status()));
  return RunUnary(ctx, RunOn::kBlockingPool, pool, absl::ZeroDuration(),
                  [service = d.service, call] { return call(*service); });
}

}  // namespace spirecvm::server::spireagent
