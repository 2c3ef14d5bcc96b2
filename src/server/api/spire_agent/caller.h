// What SPIRE's agent-facing API (the services in this folder, on the server's TLS endpoint) shares: the caller
// authenticated as an agent by its X509-SVID, how admin methods are forwarded to the admin services for admin
// callers (admin_caller.h), the SVID's wire form. The services take AgentApiDeps (agent_api_deps.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/api/agent_api_deps.h"
#include "server/api/agent_auth.h"
#include "server/api/spire/denied.h"
#include "server/api/spire_agent/admin_caller.h"
#include "server/api/spire_agent/unary_call.h"
#include "server/entries/entry_cache.h"
#include "spire/api/types/x509svid.pb.h"

namespace spirecvm::server::spireagent {

namespace sapi = ::spire::api::types;
using EntryPtr = CachedEntryPtr;  // an entry from the entry cache

// The calling agent (active, not banned, presenting its current SVID); a failure counts in agent_auth_failures.
absl::StatusOr<AuthenticatedAgent> AuthenticateCaller(const AgentApiDeps& deps, const grpc::ServerContextBase& ctx);

// A downstream caller, as SPIRE's authorization policy admits one: its X509-SVID chain (PEM, leaf first) verifies
// against our bundle (else Unauthenticated) and its SPIFFE ID is the SPIFFE ID of a registered entry with
// downstream = true (else PermissionDenied "authorization denied for method /<service>/<method>", SPIRE's answer).
absl::StatusOr<spiffe::SpiffeId> AuthenticateDownstreamChain(const AgentApiDeps& deps, const std::string& chain_pem,
                                                             std::string_view service, std::string_view method);

// {id, cert_chain (leaf first), expires_at}.
void X509SvidToProto(const std::string& spiffe_id, const SignedX509Svid& svid, sapi::X509SVID* out);

// The entries the agent may mint SVIDs for, by entry ID.
std::map<std::string, EntryPtr, std::less<>> AuthorizedEntriesById(const AgentApiDeps& deps,
                                                                   const AuthenticatedAgent& agent);

}  // namespace spirecvm::server::spireagent

// Declares an admin method of a SPIRE service on the agent endpoint (callback API): forwarded to the admin socket's
// service (member admin_, an AdminDelegate) on the blocking pool (member deps_.blocking) for admin callers,
// PermissionDenied for everyone else (SPIREAPI_CALL_SYNC, unary_call.h, picks the context to pass).
#define SPIREAGENT_ADMIN_ONLY(Method, Request, Response)                                                            \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const Request* req, Response* resp) override { \
    return ::spirecvm::server::spireagent::ForAdmin(admin_, deps_.blocking, ctx, #Method,                           \
                                                    SPIREAPI_CALL_SYNC(Method, ctx, req, resp));                    \
  }

// SPIREAPI_DENIED (spire/denied.h) for a callback-API service: SPIRE's PermissionDenied for every caller.
#define SPIREAGENT_DENIED(Svc, Method, Request, Response)                                                          \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const Request*, Response*) override {         \
    return ::spirecvm::server::spireagent::FinishUnary(                                                            \
        ctx,                                                                                                       \
        ::spirecvm::ToGrpc(::spirecvm::server::spireapi::AuthorizationDenied(Svc::service_full_name(), #Method))); \
  }
