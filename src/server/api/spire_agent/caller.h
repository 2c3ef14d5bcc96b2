// What SPIRE's agent-facing API (the services in this folder, on the server's TLS endpoint) shares: the caller
// authenticated as an agent by its X509-SVID, the answer admin methods give on this endpoint, the SVID's wire form.
// The services take AgentApiDeps (agent_api_deps.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/api/agent_api_deps.h"
#include "server/api/agent_auth.h"
#include "spire/api/types/x509svid.pb.h"

namespace spirecvm::server::spireagent {

namespace sapi = ::spire::api::types;
using EntryPtr = std::shared_ptr<const datastore::RegistrationEntry>;

// The calling agent (active, not banned, presenting its current SVID); a failure counts in agent_auth_failures.
absl::StatusOr<AuthenticatedAgent> AuthenticateCaller(const AgentApiDeps& deps, const grpc::ServerContext& ctx);

// An admin method called on the agent endpoint: PermissionDenied, naming the method and where it is served.
// (SPIRE also admits admin callers over TLS; that is not supported yet.)
grpc::Status AdminOnly(std::string_view method);

// {id, cert_chain (leaf first), expires_at}.
void X509SvidToProto(const std::string& spiffe_id, const SignedX509Svid& svid, sapi::X509SVID* out);

// The entries the agent may mint SVIDs for, by entry ID.
std::map<std::string, EntryPtr, std::less<>> AuthorizedEntriesById(const AgentApiDeps& deps,
                                                                   const AuthenticatedAgent& agent);

}  // namespace spirecvm::server::spireagent

// Declares an admin method of a SPIRE service that answers AdminOnly on the agent endpoint.
#define SPIREAGENT_ADMIN_ONLY(Method, Request, Response)                          \
  grpc::Status Method(grpc::ServerContext*, const Request*, Response*) override { \
    return ::spirecvm::server::spireagent::AdminOnly(#Method);                    \
  }
