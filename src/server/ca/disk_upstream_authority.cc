#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
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
    UpstreamSignedCa out;
    ASSIGN_OR_RETURN(out.ca, spiffe::SignIntermediateCa(spiffe::CaSigner{chain_[0].get(), key_.get()}, p, rnd));
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

// Reads a PEM file of certificates; errors name the configuration key and the file.
absl::StatusOr<std::vector<ssl::X509Ptr>> ReadCerts(std::string_view key, const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, files::ReadFile(path));
  auto certs = crypto::ParseCertsPem(pem);
  if (!certs.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(key), " ", path, ": ", certs.status().message()));
  }
  return certs;
}

absl::StatusOr<ssl::EvpPkeyPtr> ReadKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, files::ReadFile(path));
  auto key = crypto::PrivateKeyFromPem(pem);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("key_file_path ", path, ": ", key.status().message()));
  return key;
}

// The roots to publish: bundle_file_path, else the self-signed certificates of the upstream chain.
absl::StatusOr<std::vector<ssl::X509Ptr>> Roots(const DiskUpstreamConfig& cfg, const std::vector<ssl::X509Ptr>& chain) {
  if (!cfg.bundle_file_path.empty()) return ReadCerts("bundle_file_path", cfg.bundle_file_path);
  std::vector<ssl::X509Ptr> roots;
  for (auto& c : chain) {
    if (IsSelfSigned(c.get())) roots.push_back(ssl::X509Ptr(X509_dup(c.get())));
  }
  if (roots.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cfg.cert_file_path, " has no self-signed root; set bundle_file_path"));
  }
  return roots;
}

}  // namespace

absl::StatusOr<DiskUpstreamConfig> ParseDiskUpstreamConfig(config::Section& data) {
  DiskUpstreamConfig c;
  c.cert_file_path = data.String("cert_file_path").value_or("");
  c.key_file_path = data.String("key_file_path").value_or("");
  c.bundle_file_path = data.String("bundle_file_path").value_or("");
  if (c.cert_file_path.empty() || c.key_file_path.empty()) {
    return absl::InvalidArgumentError("cert_file_path and key_file_path are required");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<UpstreamAuthority>> NewDiskUpstreamAuthority(const DiskUpstreamConfig& cfg) {
  if (cfg.cert_file_path.empty() || cfg.key_file_path.empty()) {
    return absl::InvalidArgumentError("cert_file_path and key_file_path are required");
  }
  ASSIGN_OR_RETURN(std::vector<ssl::X509Ptr> chain, ReadCerts("cert_file_path", cfg.cert_file_path));
  ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, ReadKey(cfg.key_file_path));
  if (X509_check_private_key(chain[0].get(), key.get()) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("the key in ", cfg.key_file_path, " does not match the certificate in ", cfg.cert_file_path));
  }
  if (X509_check_ca(chain[0].get()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(cfg.cert_file_path, " is not a CA certificate"));
  }
  ASSIGN_OR_RETURN(std::vector<ssl::X509Ptr> roots, Roots(cfg, chain));
  return std::unique_ptr<UpstreamAuthority>(
      new DiskUpstreamAuthority(std::move(chain), std::move(key), std::move(roots)));
}

}  // namespace spirecvm::server
