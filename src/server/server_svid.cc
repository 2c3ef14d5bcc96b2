#include "server/server_svid.h"

#include <algorithm>

#include "common/files.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {

bool ServerSvid::SignerUntrusted() const {
  if (deps_.ds == nullptr || signers_.empty()) return false;
  auto bundle = deps_.ds->FetchBundle(deps_.trust_domain.name());
  if (!bundle.ok()) return false;  // checked again on the next call
  bool root_published = root_akid_.empty();
  for (const auto& der : bundle->x509_authorities_der) {
    auto cert = crypto::ParseCertDer(der);
    if (!cert.ok()) continue;
    const std::string skid = crypto::SubjectKeyIdHex(cert->get());
    const bool tainted = std::find(bundle->tainted_x509_der.begin(), bundle->tainted_x509_der.end(), der) !=
                         bundle->tainted_x509_der.end();
    if (tainted && signers_.count(skid) > 0) return true;
    if (!tainted && skid == root_akid_) root_published = true;
  }
  return !root_published;  // revoked before a check saw it tainted
}

absl::Status ServerSvid::Rotate(bool force) {
  absl::Time now = deps_.clock.Now();
  if (!force && now < not_before_ + (not_after_ - not_before_) / 2) {
    if (!SignerUntrusted()) return absl::OkStatus();
    spdlog::info("server SVID signed using a tainted or revoked authority, forcing rotation of the server SVID");
  }
  ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, crypto::GenerateKey(crypto::KeyType::kEcP256));
  ASSIGN_OR_RETURN(spiffe::SpiffeId id, spiffe::SpiffeId::FromPath(deps_.trust_domain, "/spire/server"));
  // A DNS SAN equal to the trust domain name lets agents send it as the TLS server name (SNI) and match this
  // certificate; identity is still checked on the URI SAN. Trust domains with '_' are not host names: none then.
  std::vector<std::string> dns;
  if (deps_.trust_domain.name().find('_') == std::string::npos) dns.push_back(deps_.trust_domain.name());
  ASSIGN_OR_RETURN(std::string spki, crypto::PublicKeyToDer(key.get()));
  ASSIGN_OR_RETURN(SignedX509Svid svid, deps_.ca.SignX509Svid(spki, id, deps_.ttl, dns));
  std::string chain_pem;
  std::set<std::string> signers;
  std::string root_akid;
  for (size_t i = 0; i < svid.chain_der.size(); ++i) {
    ASSIGN_OR_RETURN(ssl::X509Ptr cert, crypto::ParseCertDer(svid.chain_der[i]));
    chain_pem += crypto::CertToPem(cert.get());
    root_akid = crypto::AuthorityKeyIdHex(cert.get());
    if (!root_akid.empty()) signers.insert(root_akid);
    if (auto skid = crypto::SubjectKeyIdHex(cert.get()); i > 0 && !skid.empty()) signers.insert(skid);
  }
  ASSIGN_OR_RETURN(std::string key_pem, crypto::PrivateKeyToPem(key.get()));
  RETURN_IF_ERROR(files::WriteFileAtomic(deps_.key_path, key_pem, 0600));
  RETURN_IF_ERROR(files::WriteFileAtomic(deps_.cert_path, chain_pem, 0644));
  not_before_ = now;
  not_after_ = svid.not_after;
  signers_ = std::move(signers);
  root_akid_ = std::move(root_akid);
  return absl::OkStatus();
}

}  // namespace spirecvm::server
