// One small AWS API client over libcurl: requests are signed by libcurl (CURLOPT_AWS_SIGV4), never by hand.
// Query protocol (EC2, IAM, STS: form POST, XML answer) and JSON 1.1 protocol (KMS, Organizations). Timeouts per
// attempt; throttling (400/429 Throttling*, RequestLimitExceeded, 503) and transport errors are retried with
// exponential backoff; every failure names the service, the action and AWS's error code and message.
// Thread-safe: calls may run concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "aws/xml.h"

namespace spirecvm::aws {

struct ClientOptions {
  std::string partition = "aws";
  std::string region;
  Getenv env;  // for AWS_ENDPOINT_URL*; default: the process environment
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration request_timeout = absl::Seconds(10);  // per attempt
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  std::function<void(absl::Duration)> sleep;  // default: absl::SleepFor
};

// An error AWS answered with, when there was one (`code` empty for transport failures).
struct AwsError {
  int http_status = 0;
  std::string code, message;
};

class Client {
 public:
  Client(ClientOptions options, std::shared_ptr<CredentialProvider> credentials);

  // Query protocol: Action=<action>&Version=<version>&<params>. The parsed XML answer on HTTP 2xx.
  absl::StatusOr<XmlElement> Query(const std::string& service, const std::string& action, const std::string& version,
                                   const std::map<std::string, std::string>& params) const;
  // JSON 1.1 protocol: X-Amz-Target: <target_prefix>.<action>.
  absl::StatusOr<nlohmann::json> Json(const std::string& service, const std::string& target_prefix,
                                      const std::string& action, const nlohmann::json& body) const;

  const ClientOptions& options() const { return options_; }

 private:
  struct Response {
    long status = 0;
    std::string body;
  };
  absl::StatusOr<Response> Send(const std::string& service, const std::string& action, const std::string& body,
                                const std::vector<std::string>& headers) const;
  absl::StatusOr<Response> SendOnce(const Endpoint& ep, const std::string& service, const Credentials& c,
                                    const std::string& body, const std::vector<std::string>& headers) const;

  ClientOptions options_;
  std::shared_ptr<CredentialProvider> credentials_;
};

// Parses an AWS error body (Query XML or JSON).
AwsError ParseAwsError(long http_status, const std::string& body);
// Whether AWS asks the caller to slow down (retryable).
bool IsThrottling(const AwsError& e);

// STS AssumeRole through `sts` (which holds the caller's credentials): temporary credentials for `role_arn`,
// refreshed before they expire.
std::shared_ptr<CredentialProvider> NewAssumeRoleProvider(std::shared_ptr<Client> sts, std::string role_arn,
                                                          std::string session_name, Clock& clock);

// "arn:<partition>:iam::<account>:role/<role>".
std::string RoleArn(const std::string& partition, const std::string& account_id, const std::string& role);

}  // namespace spirecvm::aws
