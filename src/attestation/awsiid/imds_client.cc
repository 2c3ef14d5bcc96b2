#include "attestation/awsiid/imds_client.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http_client.h"
#include "common/status.h"

namespace spirecvm::awsiid {
namespace {

constexpr size_t kMaxResponseBytes = 64 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<ImdsClient>> ImdsClient::Create(ImdsClientOptions options) {
  absl::string_view ep = options.endpoint;
  while (absl::EndsWith(ep, "/")) ep.remove_suffix(1);
  absl::string_view rest;
  if (absl::StartsWith(ep, "http://")) {
    rest = ep.substr(7);
  } else if (absl::StartsWith(ep, "https://")) {
    rest = ep.substr(8);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("ec2_metadata_endpoint \"", options.endpoint, "\" must start with http:// or https://"));
  }
  if (rest.empty() || rest.find_first_of("/?#@ ") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("ec2_metadata_endpoint \"", options.endpoint, "\" must be scheme://host[:port] with no path"));
  }
  options.endpoint = std::string(ep);
  if (absl::StatusOr<http::Url> url = http::ParseUrl(options.endpoint); !url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("ec2_metadata_endpoint: ", url.status().message()));
  }
  if (options.max_attempts < 1) options.max_attempts = 1;
  if (options.token_ttl_seconds < 1 || options.token_ttl_seconds > 21600) {
    return absl::InvalidArgumentError("IMDS token TTL must be between 1 and 21600 seconds");
  }
  if (!options.sleep) options.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  return std::unique_ptr<ImdsClient>(new ImdsClient(std::move(options)));
}

absl::StatusOr<ImdsClient::Response> ImdsClient::Exchange(bool put, absl::string_view path,
                                                          absl::string_view header_name,
                                                          absl::string_view header_value) const {
  const std::string url = absl::StrCat(options_.endpoint, path);
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) {
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    http::Request req;
    req.method = put ? "PUT" : "GET";
    req.url = url;
    req.headers = {{std::string(header_name), std::string(header_value)}};
    req.connect_timeout = options_.connect_timeout;
    req.timeout = options_.request_timeout;
    req.max_body = kMaxResponseBytes;
    absl::StatusOr<http::Response> answer = http::Exchange(req);
    if (answer.status().code() == absl::StatusCode::kOutOfRange) {
      return absl::InvalidArgumentError(absl::StrCat("IMDS at ", options_.endpoint, ": response to ", path, " exceeds ",
                                                     kMaxResponseBytes, " bytes"));
    }
    if (!answer.ok()) {
      last = absl::UnavailableError(
          absl::StrCat("IMDS at ", options_.endpoint, " unreachable: ", answer.status().message(), " (",
                       put ? "PUT " : "GET ", path, ", attempt ", attempt, " of ", options_.max_attempts, ")"));
      continue;
    }
    Response r{answer->status, std::move(answer->body)};
    if (r.status >= 500 || r.status == 429) {
      last = absl::UnavailableError(absl::StrCat("IMDS at ", options_.endpoint, " answered HTTP ", r.status, " to ",
                                                 put ? "PUT " : "GET ", path, " (attempt ", attempt, " of ",
                                                 options_.max_attempts, ")"));
      continue;
    }
    return r;
  }
  return last;
}

absl::StatusOr<std::string> ImdsClient::FetchToken() const {
  ASSIGN_OR_RETURN(auto r, Exchange(/*put=*/true, "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds",
                                    absl::StrCat(options_.token_ttl_seconds)));
  if (r.status == 403 || r.status == 404 || r.status == 405) {
    return absl::FailedPreconditionError(absl::StrCat(
        "IMDS at ", options_.endpoint, " does not support IMDSv2 token requests (PUT /latest/api/token answered HTTP ",
        r.status, "); enable IMDSv2 on the instance (HttpTokens optional or required)"));
  }
  if (r.status != 200) {
    return absl::UnavailableError(
        absl::StrCat("IMDS at ", options_.endpoint, " refused a session token: HTTP ", r.status));
  }
  if (r.body.empty() || r.body.size() > 4096) {
    return absl::UnavailableError(absl::StrCat("IMDS at ", options_.endpoint, " returned an empty or oversized token"));
  }
  return r.body;
}

absl::StatusOr<std::string> ImdsClient::Get(absl::string_view path, absl::string_view token) const {
  ASSIGN_OR_RETURN(auto r, Exchange(/*put=*/false, path, "X-aws-ec2-metadata-token", token));
  if (r.status == 401) {
    return absl::UnauthenticatedError(
        absl::StrCat("IMDS at ", options_.endpoint, " rejected the session token for ", path, " (HTTP 401)"));
  }
  if (r.status == 404) {
    return absl::NotFoundError(absl::StrCat("IMDS at ", options_.endpoint, " has no ", path, " (HTTP 404)"));
  }
  if (r.status != 200) {
    return absl::UnavailableError(
        absl::StrCat("IMDS at ", options_.endpoint, " answered HTTP ", r.status, " to ", path));
  }
  return r.body;
}

absl::StatusOr<AttestationPayload> ImdsClient::FetchInstanceIdentity() const {
  ASSIGN_OR_RETURN(auto token, FetchToken());
  AttestationPayload p;
  ASSIGN_OR_RETURN(auto doc, Get("/latest/dynamic/instance-identity/document", token));
  p.document = std::move(doc);
  ASSIGN_OR_RETURN(auto rsa2048, Get("/latest/dynamic/instance-identity/rsa2048", token));
  p.rsa2048 = std::move(rsa2048);
  if (options_.fetch_signature) {
    ASSIGN_OR_RETURN(auto sig, Get("/latest/dynamic/instance-identity/signature", token));
    p.signature = std::move(sig);
  }
  return p;
}

}  // namespace spirecvm::awsiid
