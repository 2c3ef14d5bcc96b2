// The SPIFFE bundle endpoint (SPIFFE Federation §5): GET on any path answers our trust domain's bundle in the SPIFFE
// bundle format (JWKS with x509-svid and jwt-svid keys, spiffe_sequence, spiffe_refresh_hint) over TLS, presenting
// the server SVID (https_spiffe) or a configured web certificate (https_web). Both are re-read on every handshake.
// Requests are served on the listener's own threads; they only read the DataStore (thread-safe).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/config/federation_config.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server::federation {

struct BundleEndpointDeps {
  datastore::DataStore& ds;
  spiffe::TrustDomain trust_domain;
  BundleEndpointConfig cfg;    // port 0 binds any free port (tests)
  std::string svid_cert_path;  // https_spiffe: the server SVID chain (PEM, leaf first)
  std::string svid_key_path;   // https_spiffe: its key
};

// The document served: our bundle with the configured refresh hint. NotFound before the CA made a bundle.
absl::StatusOr<std::string> RenderBundleDocument(datastore::DataStore& ds, const spiffe::TrustDomain& td,
                                                 absl::Duration refresh_hint);

class BundleEndpoint {
 public:
  // Checks the serving files (https_web: readable, key matching), binds, and serves on a new thread.
  // InvalidArgument for bad files, Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<BundleEndpoint>> Start(BundleEndpointDeps deps);
  ~BundleEndpoint();  // Stop()
  void Stop();
  int port() const;

 private:
  struct Impl;
  explicit BundleEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spirecvm::server::federation
