// AWS KMS (JSON 1.1 protocol, X-Amz-Target: TrentService.<Action>): the calls the aws_kms KeyManager makes. Blobs
// travel Base64-encoded; dates are epoch seconds. Every error names the action and AWS's error (client.h).
// Thread-safe: stateless over a thread-safe Client.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aws/client.h"

namespace spirecvm::aws {

struct KmsKeyMetadata {
  std::string key_id;
  std::string arn;
  std::string key_spec;  // ECC_NIST_P256, ECC_NIST_P384, RSA_2048, RSA_4096, ...
  std::string key_state;
  std::string description;
  bool enabled = false;
  absl::Time creation_date = absl::InfinitePast();
};

struct KmsAlias {
  std::string name;  // alias/...
  std::string arn;
  std::string target_key_id;  // empty for an alias without a key
  std::optional<absl::Time> last_updated;
};

class Kms {
 public:
  explicit Kms(std::shared_ptr<Client> client) : client_(std::move(client)) {}

  // An asymmetric SIGN_VERIFY key. `policy`: empty for KMS's default key policy.
  absl::StatusOr<KmsKeyMetadata> CreateKey(const std::string& key_spec, const std::string& description,
                                           const std::string& policy) const;
  absl::StatusOr<KmsKeyMetadata> DescribeKey(const std::string& key_id) const;
  // The SubjectPublicKeyInfo DER.
  absl::StatusOr<std::string> GetPublicKey(const std::string& key_id) const;
  // Signs a digest (MessageType DIGEST) with `algorithm` (e.g. ECDSA_SHA_256, RSASSA_PKCS1_V1_5_SHA_256).
  absl::StatusOr<std::string> SignDigest(const std::string& key_id, const std::string& algorithm,
                                         std::string_view digest) const;
  absl::Status CreateAlias(const std::string& alias, const std::string& key_id) const;
  absl::Status UpdateAlias(const std::string& alias, const std::string& key_id) const;
  absl::Status DeleteAlias(const std::string& alias) const;
  // Every page; with `key_id`, only the aliases of that key.
  absl::StatusOr<std::vector<KmsAlias>> ListAliases(const std::string& key_id = "") const;
  // Every page: the keys' ARNs.
  absl::StatusOr<std::vector<std::string>> ListKeys() const;
  absl::Status ScheduleKeyDeletion(const std::string& key_id, int pending_window_days) const;
  // STS GetCallerIdentity: the caller's ARN and account.
  absl::StatusOr<std::pair<std::string, std::string>> CallerIdentity() const;

 private:
  absl::StatusOr<nlohmann::json> Call(const std::string& action, const nlohmann::json& body) const;

  std::shared_ptr<Client> client_;
};

// The KeyMetadata object of a CreateKey / DescribeKey answer.
absl::StatusOr<KmsKeyMetadata> ParseKeyMetadata(const nlohmann::json& answer);

}  // namespace spirecvm::aws
