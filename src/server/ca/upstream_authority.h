// UpstreamAuthority: signs the server's X.509 CA instead of self-signing it. "disk" loads an upstream
// CA certificate and key from files (SPIRE's UpstreamAuthority "disk").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_reader.h"
#include "common/random.h"
#include "crypto/ssl_ptr.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {

struct UpstreamSignedCa {
  ssl::X509Ptr ca;                          // our new intermediate
  std::vector<ssl::X509Ptr> intermediates;  // upstream chain between `ca` and a root (excluding roots)
  std::vector<ssl::X509Ptr> roots;          // what goes into the trust bundle
};

class UpstreamAuthority {
 public:
  virtual ~UpstreamAuthority() = default;
  virtual absl::StatusOr<UpstreamSignedCa> MintX509Ca(const spiffe::CaParams& params, Random& rnd) = 0;
};

struct DiskUpstreamConfig {
  std::string cert_file_path;    // upstream CA certificate (PEM; may be followed by its chain)
  std::string key_file_path;     // its private key (PEM)
  std::string bundle_file_path;  // optional: roots to publish; default: the upstream certificate's self-signed root
};

// Reads UpstreamAuthority "disk" plugin_data; InvalidArgument when a required path is missing.
absl::StatusOr<DiskUpstreamConfig> ParseDiskUpstreamConfig(config::Section& data);
absl::StatusOr<std::unique_ptr<UpstreamAuthority>> NewDiskUpstreamAuthority(const DiskUpstreamConfig& cfg);

}  // namespace spirecvm::server
