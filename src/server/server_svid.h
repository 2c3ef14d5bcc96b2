// The server's own X509-SVID (spiffe://<td>/spire/server) for the agent-facing TLS endpoint, kept in
// two files that gRPC's certificate watcher re-reads when they change.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/ca/ca_manager.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

struct ServerSvidDeps {
  CaManager& ca;
  Clock& clock;
  const spiffe::TrustDomain& trust_domain;
  absl::Duration ttl;
  std::string key_path;   // PKCS#8 PEM, mode 0600
  std::string cert_path;  // chain PEM, leaf first
};

// Not thread-safe: Server::Start rotates it once, then only the background loop does.
class ServerSvid {
 public:
  explicit ServerSvid(ServerSvidDeps deps) : deps_(std::move(deps)) {}

  // Signs a new SVID and writes both files atomically when `force` or past half the current lifetime.
  absl::Status Rotate(bool force);

  const std::string& key_path() const { return deps_.key_path; }
  const std::string& cert_path() const { return deps_.cert_path; }

 private:
  ServerSvidDeps deps_;
  absl::Time not_before_ = absl::InfinitePast();
  absl::Time not_after_ = absl::InfinitePast();
};

}  // namespace spirecvm::server
