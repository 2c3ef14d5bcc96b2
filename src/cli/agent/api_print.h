// Output formatting shared by `api fetch x509` and `api watch` (SPIRE's layout).
#pragma once

#include <grpcpp/grpcpp.h>

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "workload.pb.h"

namespace spirecvm::cli::agent {

std::string GrpcCodeName(grpc::StatusCode c);
void PrintX509Response(std::ostream& out, const X509SVIDResponse& resp, absl::Duration took);
// svid.<i>.pem (chain), svid.<i>.key (PKCS#8 PEM, 0600), bundle.<i>.pem, federated_bundle.<i>.<j>.pem.
absl::Status WriteX509Response(const X509SVIDResponse& resp, const std::string& dir);

}  // namespace spirecvm::cli::agent
