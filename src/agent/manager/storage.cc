#include "agent/manager/storage.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/x509.h"

namespace spirecvm::agent {

absl::Status AgentStorage::Init() { return files::EnsureDir(dir_, 0700); }

absl::Status AgentStorage::SaveSvid(const std::vector<std::string>& chain_der) {
  std::string pem;
  for (const auto& der : chain_der) {
    ASSIGN_OR_RETURN(auto c, crypto::ParseCertDer(der));
    pem += crypto::CertToPem(c.get());
  }
  return files::WriteFileAtomic(svid_path(), pem, 0600);
}

absl::StatusOr<std::vector<std::string>> AgentStorage::LoadSvid() {
  ASSIGN_OR_RETURN(auto pem, files::ReadFile(svid_path()));
  auto certs = crypto::ParseCertsPem(pem);
  if (!certs.ok()) return absl::DataLossError(absl::StrCat(svid_path(), ": ", certs.status().message()));
  std::vector<std::string> out;
  for (const auto& c : *certs) out.push_back(crypto::CertToDer(c.get()));
  return out;
}

absl::Status AgentStorage::DeleteSvid() {
  if (::unlink(svid_path().c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("remove ", svid_path(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status AgentStorage::SaveBundle(const spiffe::Bundle& b) {
  return files::WriteFileAtomic(bundle_path(), spiffe::BundleToJwks(b), 0600);
}

absl::StatusOr<spiffe::Bundle> AgentStorage::LoadBundle() {
  ASSIGN_OR_RETURN(auto json, files::ReadFile(bundle_path()));
  auto b = spiffe::BundleFromJwks(td_, json);
  if (!b.ok()) return absl::DataLossError(absl::StrCat(bundle_path(), ": ", b.status().message()));
  return b;
}

absl::StatusOr<spiffe::Bundle> ParseBootstrapBundle(const std::string& text, const std::string& source,
                                                    const std::string& format, const spiffe::TrustDomain& td) {
  if (format == "spiffe") {
    auto b = spiffe::BundleFromJwks(td, text);
    if (!b.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", b.status().message()));
    if (b->x509_authorities_der.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": bundle has no X.509 authorities"));
    }
    return b;
  }
  auto certs = crypto::ParseCertsPem(text);
  if (!certs.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", certs.status().message()));
  spiffe::Bundle b;
  b.trust_domain = td;
  for (const auto& c : *certs) b.x509_authorities_der.push_back(crypto::CertToDer(c.get()));
  return b;
}

absl::StatusOr<spiffe::Bundle> LoadBootstrapBundle(const std::string& path, const std::string& format,
                                                   const spiffe::TrustDomain& td) {
  ASSIGN_OR_RETURN(auto text, files::ReadFile(path));
  return ParseBootstrapBundle(text, path, format, td);
}

}  // namespace spirecvm::agent
