// absl::Status <-> grpc::Status at the API edge.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace spirecvm::server {

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace spirecvm::server
