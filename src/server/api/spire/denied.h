// Methods SPIRE's authorization policy admits for no caller of a listener (local callers on the admin socket; or
// anyone, as agent.v1 PostStatus): declared with SPIREAPI_DENIED, they answer what SPIRE's authorization middleware
// answers, PermissionDenied "authorization denied for method /<service>/<method>", instead of gRPC's Unimplemented.
#pragma once

#include "common/grpc_status.h"
#include "grpcpp/server_context.h"
#include "server/api/spire/convert.h"

// Svc: the generated service class (for its full name), e.g. agentv1::Agent.
#define SPIREAPI_DENIED(Svc, Method, Request, Response)                                                              \
  grpc::Status Method(grpc::ServerContext*, const Request*, Response*) override {                                    \
    return ::spirecvm::ToGrpc(::spirecvm::server::spireapi::AuthorizationDenied(Svc::service_full_name(), #Method)); \
  }
