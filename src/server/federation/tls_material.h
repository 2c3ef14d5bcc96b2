// A certificate chain and its private key read from PEM files, installed on a TLS connection. The bundle endpoint
// reads them on every handshake, so a rotated server SVID or a renewed web certificate is served without a restart.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::server::federation {

struct TlsMaterial {
  std::vector<ssl::X509Ptr> chain;  // leaf first
  ssl::EvpPkeyPtr key;
};

// Reads cert_path (PEM chain, leaf first) and key_path (PEM private key) and checks that the key is the leaf's.
// InvalidArgument naming the file and the reason.
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const std::string& cert_path, const std::string& key_path);

// Installs the material on `ssl` (a server connection in its certificate callback).
absl::Status UseTlsMaterial(SSL* ssl, const TlsMaterial& m);

}  // namespace spirecvm::server::federation
