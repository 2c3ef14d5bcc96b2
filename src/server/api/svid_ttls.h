// The lifetimes the API services sign with when a request or entry does not set one.
#pragma once

#include "absl/time/time.h"
#include "server/config/server_config.h"

namespace spirecvm::server {

struct SvidTtls {
  absl::Duration agent = absl::Hours(1);  // agent X509-SVIDs (attestation, renewal)
  absl::Duration x509 = absl::Hours(1);   // workload X509-SVIDs
  absl::Duration jwt = absl::Minutes(5);  // JWT-SVIDs

  // agent_ttl, falling back to default_x509_svid_ttl as SPIRE does.
  static SvidTtls FromConfig(const ServerConfig& cfg) {
    return {.agent = cfg.agent_ttl > absl::ZeroDuration() ? cfg.agent_ttl : cfg.default_x509_svid_ttl,
            .x509 = cfg.default_x509_svid_ttl,
            .jwt = cfg.default_jwt_svid_ttl};
  }
};

}  // namespace spirecvm::server
