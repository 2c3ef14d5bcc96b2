// The server's `federation { bundle_endpoint { ... } federates_with "<td>" { ... } }` block, as SPIRE's server
// accepts it: where our SPIFFE bundle endpoint listens and how it authenticates (https_spiffe: the server SVID;
// https_web: a configured certificate and key), and the trust domains whose bundles we fetch from their endpoints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/config_reader.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

enum class BundleEndpointProfile { kHttpsSpiffe, kHttpsWeb };

struct BundleEndpointConfig {
  std::string address = "0.0.0.0";
  int port = 443;
  absl::Duration refresh_hint = absl::Minutes(5);  // spiffe_refresh_hint served with our bundle
  BundleEndpointProfile profile = BundleEndpointProfile::kHttpsSpiffe;
  std::string web_cert_file{};  // https_web: serving_cert_file { cert_file_path key_file_path }
  std::string web_key_file{};
};

// One federation relationship: a trust domain and the endpoint its bundle is fetched from.
struct FederationRelationship {
  spiffe::TrustDomain trust_domain{};
  std::string bundle_endpoint_url{};  // https://host[:port][/path]
  BundleEndpointProfile profile = BundleEndpointProfile::kHttpsSpiffe;
  std::string endpoint_spiffe_id{};  // https_spiffe: the SPIFFE ID the endpoint's server must present
};

struct FederationConfig {
  std::optional<BundleEndpointConfig> bundle_endpoint{};  // absent: no bundle endpoint
  std::vector<FederationRelationship> federates_with{};
};

// Reads `federation` (the section given); errors are recorded in the section (reported by the root's Finish()).
void ParseFederation(config::Section& fed, const spiffe::TrustDomain& own, FederationConfig& out);

// Checks a relationship as SPIRE does (config, API): an https URL with a host, an endpoint SPIFFE ID for
// https_spiffe (none for https_web), not our own trust domain. InvalidArgument naming the field.
absl::Status ValidateRelationship(const FederationRelationship& r, const spiffe::TrustDomain& own);

}  // namespace spirecvm::server
