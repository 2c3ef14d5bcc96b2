// SPIRE's spire.api.server.debug.v1.Debug on the admin socket: what SPIRE's `spire-server` debug tooling calls.
// GetInfo answers the server SVID's chain (from the file the server keeps it in), the uptime, and the agent and entry
// counts; federated_bundles_count is 0 (nothing stores federated bundles yet).
#pragma once

#include <string>

#include "common/clock.h"
#include "server/datastore/datastore.h"
#include "spire/api/server/debug/v1/debug.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace debugv1 = ::spire::api::server::debug::v1;

// Every member is thread-safe.
struct DebugServiceDeps {
  datastore::DataStore& ds;
  Clock& clock;
  std::string svid_cert_path;  // the server SVID's chain PEM, leaf first (ServerSvid writes it atomically)
};

class DebugService final : public debugv1::Debug::Service {
 public:
  explicit DebugService(DebugServiceDeps deps) : deps_(std::move(deps)), started_(deps_.clock.Now()) {}

  grpc::Status GetInfo(grpc::ServerContext*, const debugv1::GetInfoRequest*, debugv1::GetInfoResponse* resp) override;

 private:
  DebugServiceDeps deps_;
  const absl::Time started_;
};

}  // namespace spirecvm::server::spireapi
