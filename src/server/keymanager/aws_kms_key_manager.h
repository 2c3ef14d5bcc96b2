// KeyManager "aws_kms", as SPIRE's: the server's CA and JWT signing keys are asymmetric AWS KMS keys; the private
// keys never leave KMS (signing is KMS Sign over a digest, public keys come from GetPublicKey), nothing private is
// written here. Each key is found again through its alias
//   alias/SPIRE_SERVER/<trust domain, '.' -> '_'>/<server id>/<key id>
// (server id: key_identifier_value, or a UUID kept in key_identifier_file), so a restarted server finds its keys.
// GenerateKey creates a new KMS key and re-points the alias to it; the replaced key is scheduled for deletion
// (7 days). Maintenance, as SPIRE's tasks: this server's aliases are refreshed every 6 h (their LastUpdatedDate
// says the server is alive), aliases of other servers of the trust domain not refreshed for 14 days are deleted
// with their keys (every 24 h), and keys of the trust domain left without an alias for 48 h (a failure between
// CreateKey and CreateAlias) are scheduled for deletion (every 48 h). Deletions that fail are retried.
// Thread-safety: as KeyManager; signers may be used concurrently.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "aws/kms.h"
#include "common/clock.h"
#include "common/config_reader.h"
#include "common/random.h"
#include "server/keymanager/key_manager.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

// SPIRE's aws_kms plugin_data.
struct AwsKmsKeyManagerConfig {
  std::string access_key_id, secret_access_key;  // else the environment, else the IMDSv2 instance role
  std::string region;
  std::string key_identifier_file;   // holds the server id (a UUID made on first start)
  std::string key_identifier_value;  // the server id itself
  std::string key_metadata_file;     // deprecated name of key_identifier_file
  std::string key_policy_file;       // a key policy (JSON) for the keys; default: SPIRE's
};
// Reads and checks KeyManager "aws_kms" plugin_data (errors into `data`, as SPIRE words them).
AwsKmsKeyManagerConfig ParseAwsKmsKeyManagerConfig(config::Section& data);

// Test seams; defaults: the process environment, real sleeps, IMDS credentials, the maintenance thread.
struct AwsKmsOptions {
  aws::Getenv env;
  std::function<void(absl::Duration)> sleep;
  bool use_imds_credentials = true;
  bool run_maintenance = true;
};

class AwsKmsKeyManager final : public KeyManager {
 public:
  // Reads or creates the server id, then loads this server's keys from KMS (aliases, DescribeKey, GetPublicKey):
  // a disabled key or an alias without a key is an error naming it.
  static absl::StatusOr<std::unique_ptr<AwsKmsKeyManager>> Create(const AwsKmsKeyManagerConfig& cfg,
                                                                  const spiffe::TrustDomain& td, Clock& clock,
                                                                  Random& rnd, AwsKmsOptions options = {});
  ~AwsKmsKeyManager() override;

  absl::StatusOr<std::shared_ptr<crypto::Signer>> GenerateKey(std::string_view id, crypto::KeyType type) override;
  absl::StatusOr<std::shared_ptr<crypto::Signer>> GetKey(std::string_view id) override;
  std::string_view Name() const override { return "aws_kms"; }

  // The tasks that are due by the clock (refresh, dispose aliases, dispose keys) and pending deletions. The
  // maintenance thread calls it every minute; tests call it directly.
  absl::Status Maintain();

  const std::string& server_id() const { return server_id_; }
  // alias/SPIRE_SERVER/<td>/<server id>/<key id>.
  std::string AliasFor(std::string_view key_id) const;

  struct Entry {
    std::string arn;
    std::string alias;
    std::shared_ptr<crypto::Signer> signer;
  };

 private:
  AwsKmsKeyManager(std::shared_ptr<aws::Kms> kms, std::string td, std::string server_id, std::string policy,
                   Clock& clock);
  absl::Status Load();
  absl::StatusOr<Entry> EntryFor(const aws::KmsAlias& alias, const std::string& key_id);
  absl::Status AssignAlias(const Entry& e, bool replacing);
  // ScheduleKeyDeletion (7 days). False when it failed in a way worth retrying (the caller queues the key).
  bool TryScheduleDeletion(const std::string& arn);
  absl::Status RefreshAliases();
  absl::Status DisposeAliases();
  absl::Status DisposeKeys();
  void RunMaintenance();

  std::shared_ptr<aws::Kms> kms_;
  const std::string td_;  // sanitized
  const std::string server_id_;
  const std::string policy_;
  Clock& clock_;

  std::mutex mu_;  // entries_, pending_deletions_, the task schedule
  std::map<std::string, Entry> entries_;
  std::vector<std::string> pending_deletions_;
  absl::Time next_refresh_, next_dispose_aliases_, next_dispose_keys_;

  std::mutex thread_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace spirecvm::server
