// The client side of a SPIFFE bundle endpoint (SPIFFE Federation §5.2): one HTTPS GET, the answer parsed as the
// trust domain's SPIFFE bundle. https_spiffe authenticates the endpoint's server by its X509-SVID, verified against
// the bundle we already hold for that trust domain and required to carry the configured endpoint SPIFFE ID;
// https_web by the Web PKI (OpenSSL's default roots, which SSL_CERT_FILE / SSL_CERT_DIR override) and the URL's
// host. Nothing is sent before the server is authenticated. Blocking; safe to call from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/config/federation_config.h"
#include "spiffe/bundle.h"

namespace spirecvm::server::federation {

struct BundleUrl {
  std::string host{};  // without brackets for IPv6
  std::string port = "443";
  std::string path = "/";
};
// https://host[:port][/path], parsed by http::ParseUrl (common/url.h) and refused unless https; InvalidArgument
// naming the URL and what is wrong.
absl::StatusOr<BundleUrl> ParseBundleUrl(std::string_view url);

struct FetchRequest {
  FederationRelationship relationship{};
  std::vector<std::string> roots_der{};  // https_spiffe: the X.509 authorities of the bundle we hold for the domain
  absl::Time now{};                      // for verifying the endpoint's SVID
  absl::Duration timeout = absl::Seconds(10);
};

// Unavailable for network and HTTP trouble, PermissionDenied when the endpoint is not who it must be,
// InvalidArgument for a malformed bundle.
absl::StatusOr<spiffe::Bundle> FetchFederatedBundle(const FetchRequest& req);

// The HTTP/1.x answer's body: status 200 required, Content-Length honoured, chunked transfer decoded; bounded.
absl::StatusOr<std::string> ParseHttpResponse(std::string_view raw);

}  // namespace spirecvm::server::federation
