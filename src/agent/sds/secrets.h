// The SDS answer for one request: which Envoy secrets (tls.v3.Secret) a workload gets for the resource names it
// asked for, as SPIRE's agent computes them (pkg/agent/endpoints/sdsv3): TLS certificates named by SPIFFE ID (the
// first SVID also as `default_svid_name`), validation contexts named by trust domain ID (`spiffe://<td>`, own and
// federated), `default_bundle_name` for the own bundle and `default_all_bundles_name` for all of them. Validation
// contexts are SPIFFECertValidatorConfig extensions unless disabled (config or node metadata) or the Envoy is older
// than 1.18; a name the workload has no secret for fails the whole request (InvalidArgument).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/manager/cache.h"
#include "agent/sds/sds_options.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "spiffe/bundle.h"

namespace spirecvm::agent::sds {

inline constexpr char kSecretTypeUrl[] = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
inline constexpr char kSpiffeValidatorName[] = "envoy.tls.cert_validator.spiffe";
inline constexpr char kDisableValidationKey[] = "disable_spiffe_cert_validation";

// What one workload may be served: its SVIDs in cache order (the first is the `default` one), the agent's trust
// bundle and the federated bundles its entries federate with, by trust domain ID ("spiffe://other.org").
struct SdsState {
  std::vector<std::shared_ptr<const X509SvidRecord>> svids;
  std::shared_ptr<const spiffe::Bundle> bundle;
  std::map<std::string, spiffe::Bundle> federated;
};

// Builds the response. `version` empty = FetchSecrets (no version, no nonce); otherwise `nonce` is set too.
absl::StatusOr<envoy::service::discovery::v3::DiscoveryResponse> BuildSecretsResponse(
    const SdsOptions& opts, const envoy::service::discovery::v3::DiscoveryRequest& req, const SdsState& state,
    const std::string& version, const std::string& nonce);

// True when validation contexts are SPIFFECertValidatorConfig extensions for this client: not disabled (the node
// metadata's `disable_spiffe_cert_validation`, a bool or a Go-style boolean string, wins over the option) and the
// client is Envoy 1.18 or newer (a client that names no build version is assumed new enough).
bool UseSpiffeValidator(const SdsOptions& opts, const envoy::config::core::v3::Node& node);

// Go's encoding/pem: "-----BEGIN <type>-----\n", Base64 in 64-character lines, "-----END <type>-----\n".
std::string PemBlock(const std::string& type, const std::string& der);

}  // namespace spirecvm::agent::sds
