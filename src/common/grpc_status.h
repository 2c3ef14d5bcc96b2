// The one absl::Status <-> grpc::Status map, used at every gRPC edge (server APIs, agent Workload API, agent's
// server client). The two code spaces are numerically identical (both follow google.rpc.Code), so the map keeps
// the code and the message. Header-only: include it only from targets that link gRPC::grpc++.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace spirecvm {

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace spirecvm
