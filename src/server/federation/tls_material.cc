#include "server/federation/tls_material.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace spirecvm::server::federation {

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const std::string& cert_path, const std::string& key_path) {
  ASSIGN_OR_RETURN(std::string cert_pem, files::ReadFile(cert_path));
  ASSIGN_OR_RETURN(std::string key_pem, files::ReadFile(key_path));
  TlsMaterial m;
  auto chain = crypto::ParseCertsPem(cert_pem);
  if (!chain.ok() || chain->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("certificate file ", cert_path, " holds no PEM certificate"));
  }
  m.chain = *std::move(chain);
  auto key = crypto::PrivateKeyFromPem(key_pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("key file ", key_path, ": ", key.status().message()));
  }
  m.key = *std::move(key);
  if (X509_check_private_key(m.chain[0].get(), m.key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", key_path, " does not hold the private key of the certificate in ", cert_path));
  }
  return m;
}

absl::Status UseTlsMaterial(SSL* ssl, const TlsMaterial& m) {
  if (SSL_use_certificate(ssl, m.chain[0].get()) != 1 || SSL_use_PrivateKey(ssl, m.key.get()) != 1) {
    return absl::InternalError("cannot install the serving certificate");
  }
  SSL_clear_chain_certs(ssl);
  for (size_t i = 1; i < m.chain.size(); ++i) {
    if (SSL_add1_chain_cert(ssl, m.chain[i].get()) != 1) return absl::InternalError("cannot add a chain certificate");
  }
  return absl::OkStatus();
}

}  // namespace spirecvm::server::federation
