// AWS credentials and the chain SPIRE users know: access_key_id / secret_access_key from the plugin's config, then
// the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the instance role of the
// server's own host from IMDSv2. Providers are thread-safe: Get() may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aws/endpoints.h"
#include "common/clock.h"

namespace spirecvm::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;                       // empty for long-term keys
  absl::Time expiration = absl::InfiniteFuture();  // temporary credentials expire
  std::string source;                              // "config", "environment", "imds", "assume_role <arn>"
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Thread-safe. Temporary credentials are refreshed 5 minutes before they expire.
  virtual absl::StatusOr<Credentials> Get() = 0;
};

// Refreshes through Fetch() when the cached credentials are within 5 minutes of expiry.
class CachingProvider : public CredentialProvider {
 public:
  explicit CachingProvider(Clock& clock) : clock_(clock) {}
  absl::StatusOr<Credentials> Get() override;

 protected:
  virtual absl::StatusOr<Credentials> Fetch() = 0;

 private:
  Clock& clock_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
};

struct ChainOptions {
  std::string access_key_id;      // plugin config
  std::string secret_access_key;  // plugin config
  Getenv env;                     // default: the process environment
  std::string imds_endpoint = "http://169.254.169.254";
  bool use_imds = true;
};

// Config keys, else environment, else the IMDSv2 instance role. InvalidArgument when only one half of a key pair is
// configured (in the config or in the environment).
absl::StatusOr<std::shared_ptr<CredentialProvider>> NewDefaultChain(ChainOptions options, Clock& clock);

std::shared_ptr<CredentialProvider> NewStaticProvider(Credentials c);

// The IMDSv2 instance role: GET /latest/meta-data/iam/security-credentials/ then /<role>.
std::shared_ptr<CredentialProvider> NewImdsRoleProvider(std::string imds_endpoint, Clock& clock);

// Parses the IMDS role document (JSON with AccessKeyId, SecretAccessKey, Token, Expiration).
absl::StatusOr<Credentials> ParseImdsRoleCredentials(const std::string& json);

}  // namespace spirecvm::aws
