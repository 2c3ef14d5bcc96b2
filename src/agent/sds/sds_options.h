// The agent's `sds { ... }` options, with SPIRE's defaults (agent configuration reference, "sds" block).
#pragma once

#include <string>

namespace spirecvm::agent::sds {

struct SdsOptions {
  // The TLS certificate resource that names the workload's first SVID.
  std::string default_svid_name = "default";
  // The validation context resource that names the agent's own trust domain bundle.
  std::string default_bundle_name = "ROOTCA";
  // The validation context resource holding every bundle (own + federated) as a SPIFFECertValidatorConfig.
  std::string default_all_bundles_name = "ALL";
  // Serve plain trusted_ca validation contexts instead of the SPIFFE certificate validator; an Envoy may override
  // it per instance with node metadata `disable_spiffe_cert_validation`.
  bool disable_spiffe_cert_validation = false;
};

}  // namespace spirecvm::agent::sds
