// Agent side of `aws_iid`: fetches the instance identity document and its signatures from the
// EC2 instance metadata service with IMDSv2 (session token), over common/http_client.h.
//
//   PUT /latest/api/token  (X-aws-ec2-metadata-token-ttl-seconds: 21600)  -> token
//   GET /latest/dynamic/instance-identity/{document,rsa2048[,signature]}  (X-aws-ec2-metadata-token)
//
// Proxies from the environment are never used (IMDS is link-local; a proxy would see the token),
// redirects are not followed, responses are size-bounded. Transport errors, 5xx and 429 are
// retried with exponential backoff; an IMDS that answers the token PUT with 403/404/405 is
// reported as not supporting IMDSv2 (no retry).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/awsiid/verifier.h"

namespace spirecvm::awsiid {

inline constexpr absl::string_view kDefaultImdsEndpoint = "http://169.254.169.254";

struct ImdsClientOptions {
  // The agent option `ec2_metadata_endpoint`: scheme://host[:port], no path.
  std::string endpoint = std::string(kDefaultImdsEndpoint);
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration request_timeout = absl::Seconds(5);  // the answer, per attempt (http::Request::timeout)
  int max_attempts = 3;                               // per request, >= 1
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(4);
  int token_ttl_seconds = 21600;
  // Also fetch the older RSA `signature` form (for servers with allow_signature_form).
  bool fetch_signature = false;
  // Waits between attempts; tests inject a recorder. Default: absl::SleepFor.
  std::function<void(absl::Duration)> sleep;
};

class ImdsClient {
 public:
  // Validates the options (endpoint must be http:// or https:// with a host and no path).
  static absl::StatusOr<std::unique_ptr<ImdsClient>> Create(ImdsClientOptions options);

  // A session token from PUT /latest/api/token.
  absl::StatusOr<std::string> FetchToken() const;
  // GET <path> with the token; `path` starts with "/latest/".
  absl::StatusOr<std::string> Get(absl::string_view path, absl::string_view token) const;
  // Token, then document + rsa2048 (+ signature when fetch_signature), as served.
  absl::StatusOr<AttestationPayload> FetchInstanceIdentity() const;

  const ImdsClientOptions& options() const { return options_; }

 private:
  explicit ImdsClient(ImdsClientOptions options) : options_(std::move(options)) {}
  struct Response {
    long status = 0;
    std::string body;
  };
  // One HTTP exchange, with retries. Transport failures become Unavailable naming the endpoint.
  absl::StatusOr<Response> Exchange(bool put, absl::string_view path, absl::string_view header_name,
                                    absl::string_view header_value) const;
  ImdsClientOptions options_;
};

}  // namespace spirecvm::awsiid
