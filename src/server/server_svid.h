// The server's own X509-SVID (spiffe://<td>/spire/server) for the agent-facing TLS endpoint, kept in
// two files that gRPC's certificate watcher re-reads when they change. As SPIRE's server, it is renewed at half its
// lifetime, and at once when an authority that signed it is tainted in the trust bundle (localauthority x509 taint,
// upstreamauthority taint) or its root has left the bundle (revoked), so that agents keep trusting it.
#pragma once

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

struct ServerSvidDeps {
  CaManager& ca;
  Clock& clock;
  const spiffe::TrustDomain& trust_domain;
  absl::Duration ttl;
  std::string key_path;                // PKCS#8 PEM, mode 0600
  std::string cert_path;               // chain PEM, leaf first
  datastore::DataStore* ds = nullptr;  // for the trust bundle's taints; null: renewed by lifetime only
};

// Not thread-safe: Server::Start rotates it once, then only the background loop does.
class ServerSvid {
 public:
  explicit ServerSvid(ServerSvidDeps deps) : deps_(std::move(deps)) {}

  // Signs a new SVID and writes both files atomically when `force`, past half the current lifetime, signed by an
  // authority the bundle marks tainted, or chained to a root the bundle no longer publishes untainted.
  absl::Status Rotate(bool force);

  const std::string& key_path() const { return deps_.key_path; }
  const std::string& cert_path() const { return deps_.cert_path; }

 private:
  ServerSvidDeps deps_;
  absl::Time not_before_ = absl::InfinitePast();
  absl::Time not_after_ = absl::InfinitePast();
  // Subject key ids (lowercase hex) of the authorities above the current SVID: every certificate's authority key
  // id, and the intermediates' own subject key ids.
  std::set<std::string> signers_;
  std::string root_akid_;  // the authority key id of the chain's last certificate: the root it chains to

  bool SignerUntrusted() const;
};

}  // namespace spirecvm::server
