// What the agent keeps in data_dir so a restart (even kill -9) needs no new attestation:
//   agent_svid.pem   the agent's X509-SVID chain (PEM, leaf first), 0600
//   bundle.json      the trust bundle in SPIFFE bundle (JWKS) form, X.509 and JWT authorities, 0600
// (the agent key is the KeyManager's: agent_svid.key for "disk"). Every write is atomic (temp + fsync + rename).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spiffe/bundle.h"

namespace spirecvm::agent {

class AgentStorage {
 public:
  AgentStorage(std::string data_dir, spiffe::TrustDomain td) : dir_(std::move(data_dir)), td_(std::move(td)) {}

  absl::Status Init();  // creates data_dir (0700)
  absl::Status SaveSvid(const std::vector<std::string>& chain_der);
  absl::StatusOr<std::vector<std::string>> LoadSvid();  // NotFound when absent
  absl::Status DeleteSvid();
  absl::Status SaveBundle(const spiffe::Bundle& b);
  absl::StatusOr<spiffe::Bundle> LoadBundle();  // NotFound when absent

  std::string svid_path() const { return dir_ + "/agent_svid.pem"; }
  std::string bundle_path() const { return dir_ + "/bundle.json"; }

 private:
  std::string dir_;
  spiffe::TrustDomain td_;
};

// Parses a bootstrap bundle: PEM certificates, or a SPIFFE bundle (JWKS) when format is "spiffe". `source` (a path
// or URL) prefixes errors.
absl::StatusOr<spiffe::Bundle> ParseBootstrapBundle(const std::string& text, const std::string& source,
                                                    const std::string& format, const spiffe::TrustDomain& td);
// Reads the bootstrap bundle file and parses it (ParseBootstrapBundle).
absl::StatusOr<spiffe::Bundle> LoadBootstrapBundle(const std::string& path, const std::string& format,
                                                   const spiffe::TrustDomain& td);

}  // namespace spirecvm::agent
