#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "server/ca/upstream_authority.h"

namespace spirecvm::server {
namespace {

bool IsSelfSigned(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

class DiskUpstreamAuthority final : public UpstreamAuthority {
 public:
  DiskUpstreamAuthority(std::vector<ssl::X509Ptr> chain, ssl::EvpPkeyPtr key, std::vector<ssl::X509Ptr> roots)
      : chain_(std::move(chain)), key_(std::move(key)), roots_(std::move(roots)) {}

  absl::StatusOr<UpstreamSignedCa> MintX509Ca(const spiffe::CaParams& params, Random& rnd) override {
    spiffe::CaParams p = params;
    // The intermediate cannot outlive its issuer.
    absl::Time upstream_not_after = crypto::NotAfter(chain_[0].get());
    if (p.not_after > upstream_not_after) p.not_after = upstream_not_after;
    auto ca = spiffe::SignIntermediateCa(spiffe::CaSigner{chain_[0].get(), key_.get()}, p, rnd);
    if (!ca.ok()) return ca.status();
    UpstreamSignedCa out;
    out.ca = std::move(*ca);
    for (auto& c : chain_) {
      if (IsSelfSigned(c.get())) continue;
      out.intermediates.push_back(ssl::X509Ptr(X509_dup(c.get())));
    }
    for (auto& r : roots_) out.roots.push_back(ssl::X509Ptr(X509_dup(r.get())));
    return out;
  }

 private:
  std::vector<ssl::X509Ptr> chain_;
  ssl::EvpPkeyPtr key_;
  std::vector<ssl::X509Ptr> roots_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<UpstreamAuthority>> NewDiskUpstreamAuthority(const DiskUpstreamConfig& cfg) {
  if (cfg.cert_file_path.empty() || cfg.key_file_path.empty()) {
    return absl::InvalidArgumentError("UpstreamAuthority \"disk\": cert_file_path and key_file_path are required");
  }
  auto cert_pem = files::ReadFile(cfg.cert_file_path);
  if (!cert_pem.ok()) return cert_pem.status();
  auto chain = crypto::ParseCertsPem(*cert_pem);
  if (!chain.ok())
    return absl::InvalidArgumentError(absl::StrCat("UpstreamAuthority \"disk\": cert_file_path ", cfg.cert_file_path,
                                                   ": ", chain.status().message()));
  auto key_pem = files::ReadFile(cfg.key_file_path);
  if (!key_pem.ok()) return key_pem.status();
  auto key = crypto::PrivateKeyFromPem(*key_pem);
  if (!key.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("UpstreamAuthority \"disk\": key_file_path ", cfg.key_file_path, ": ", key.status().message()));
  if (X509_check_private_key((*chain)[0].get(), key->get()) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat("UpstreamAuthority \"disk\": the key in ", cfg.key_file_path,
                                                   " does not match the certificate in ", cfg.cert_file_path));
  }
  if (X509_check_ca((*chain)[0].get()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("UpstreamAuthority \"disk\": ", cfg.cert_file_path, " is not a CA certificate"));
  }
  std::vector<ssl::X509Ptr> roots;
  if (!cfg.bundle_file_path.empty()) {
    auto bundle_pem = files::ReadFile(cfg.bundle_file_path);
    if (!bundle_pem.ok()) return bundle_pem.status();
    auto parsed = crypto::ParseCertsPem(*bundle_pem);
    if (!parsed.ok())
      return absl::InvalidArgumentError(absl::StrCat("UpstreamAuthority \"disk\": bundle_file_path ",
                                                     cfg.bundle_file_path, ": ", parsed.status().message()));
    roots = std::move(*parsed);
  } else {
    for (auto& c : *chain) {
      if (IsSelfSigned(c.get())) roots.push_back(ssl::X509Ptr(X509_dup(c.get())));
    }
    if (roots.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("UpstreamAuthority \"disk\": ", cfg.cert_file_path,
                                                     " has no self-signed root; set bundle_file_path"));
    }
  }
  return std::unique_ptr<UpstreamAuthority>(
      new DiskUpstreamAuthority(std::move(*chain), std::move(*key), std::move(roots)));
}

}  // namespace spirecvm::server
