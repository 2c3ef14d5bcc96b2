#include "server/server_svid.h"

#include "common/files.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace spirecvm::server {

absl::Status ServerSvid::Rotate(bool force) {
  absl::Time now = deps_.clock.Now();
  if (!force && now < not_before_ + (not_after_ - not_before_) / 2) return absl::OkStatus();
  ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, crypto::GenerateKey(crypto::KeyType::kEcP256));
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::FromPath(deps_.trust_domain, "/spire/server"));
  // A DNS SAN equal to the trust domain name lets agents send it as the TLS server name (SNI) and match this
  // certificate; identity is still checked on the URI SAN. Trust domains with '_' are not host names: none then.
  std::vector<std::string> dns;
  if (deps_.trust_domain.name().find('_') == std::string::npos) dns.push_back(deps_.trust_domain.name());
  ASSIGN_OR_RETURN(SignedX509Svid svid, deps_.ca.SignX509Svid(key.get(), id, deps_.ttl, dns));
  std::string chain_pem;
  for (auto& der : svid.chain_der) {
    ASSIGN_OR_RETURN(ssl::X509Ptr cert, crypto::ParseCertDer(der));
    chain_pem += crypto::CertToPem(cert.get());
  }
  ASSIGN_OR_RETURN(std::string key_pem, crypto::PrivateKeyToPem(key.get()));
  RETURN_IF_ERROR(files::WriteFileAtomic(deps_.key_path, key_pem, 0600));
  RETURN_IF_ERROR(files::WriteFileAtomic(deps_.cert_path, chain_pem, 0644));
  not_before_ = now;
  not_after_ = svid.not_after;
  return absl::OkStatus();
}

}  // namespace spirecvm::server
