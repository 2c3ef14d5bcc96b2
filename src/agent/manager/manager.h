// The agent's control loop over SPIRE's agent-facing APIs: node attestation (and re-attestation when the server
// forgets the agent), agent SVID persistence and rotation at half life (re-attestation for a re-attestable agent,
// RenewAgent otherwise, as SPIRE's agent), incremental sync of authorized entries and the bundle, and minting of
// workload X509-SVIDs (keys made here, CSRs batched) into the cache. Errors back off exponentially; the cache
// keeps serving what it has meanwhile.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/keymanager/key_manager.h"
#include "agent/manager/cache.h"
#include "agent/manager/server_client.h"
#include "agent/manager/storage.h"
#include "agent/nodeattest/node_attestor.h"
#include "agent/workload/workload_api.h"
#include "common/clock.h"
#include "common/telemetry/registry.h"
#include "crypto/keys.h"
#include "spiffe/bundle.h"

namespace spirecvm::agent {

struct ManagerOptions {
  spiffe::TrustDomain trust_domain;
  crypto::KeyType agent_key_type = crypto::KeyType::kEcP256;
  crypto::KeyType workload_key_type = crypto::KeyType::kEcP256;
  absl::Duration sync_interval = absl::Seconds(5);
  absl::Duration min_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  size_t batch_size = 500;
  // Bootstrap trust: the bundle from trust_bundle_path, or none with insecure_bootstrap.
  std::optional<spiffe::Bundle> bootstrap_bundle;
  bool insecure_bootstrap = false;
};

// What the manager uses; all must outlive it (the composition root, agent.h, owns them).
struct ManagerDeps {
  const Clock* clock = nullptr;
  ServerConnector* connector = nullptr;
  NodeAttestorClient* attestor = nullptr;
  KeyManager* keys = nullptr;
  AgentStorage* storage = nullptr;
  std::shared_ptr<Cache> cache;
};

// Optional observers of the manager, for the composition root (agent.h).
struct ManagerHooks {
  // SPIRE's agent call counters node_attestor_new_svid, agent_svid_rotate and manager_sync_fetch_entries_updates,
  // labelled with each call's status. Must outlive the manager.
  telemetry::Registry* metrics = nullptr;
  // Told whenever the agent gains (true) or loses (false) its attested identity; called from Init() and from the
  // manager thread, never under the manager's locks.
  std::function<void(bool)> identity_changed;
};

// Threads: Run() is the manager thread (attest, renew, sync, mint). MintJwt is called from Workload API workers
// and only reads the current connection and identity under mu_. Init() runs before Run() starts.
class Manager final : public JwtMinter {
 public:
  Manager(ManagerOptions opts, ManagerDeps deps, ManagerHooks hooks = {});
  ~Manager() override;

  // Loads data_dir: a persisted bundle (preferred over the bootstrap one) and agent SVID + key, reused when the
  // key matches, the SVID has not expired and it verifies to the bundle.
  absl::Status Init();
  // One pass: attest if needed, renew past half life, sync, mint. Returns the first error.
  absl::Status RunOnce();
  // Loop until Stop(); wakes early when the cache wants SVIDs or rotation is due.
  void Run();
  void Stop();
  void Wake();

  absl::StatusOr<JwtRecord> MintJwt(const spirecvm::types::Entry& entry,
                                    const std::vector<std::string>& audience) override;

  bool has_identity() const;
  std::string agent_id() const;
  absl::Time agent_svid_expiry() const;
  // The agent SVID's chain (DER, leaf first; empty before attestation) and the trusted bundle, for the admin API.
  std::vector<std::string> agent_svid_chain() const;
  std::optional<spiffe::Bundle> bundle() const { return trusted_bundle(); }
  // When the last sync with the server succeeded (InfinitePast before the first).
  absl::Time last_sync_success() const;
  int attestations() const { return attestations_.load(); }

 private:
  struct Identity {
    std::vector<std::string> chain_der;
    ssl::EvpPkeyPtr key;
    std::string key_pem;
    std::string spiffe_id;
    absl::Time not_before;
    absl::Time not_after;
  };

  absl::Status Attest();
  // Rotation of the agent SVID as SPIRE's agent does it: a re-attestable agent attests again, others RenewAgent.
  absl::Status Rotate();
  absl::Status Renew();
  absl::Status Sync();
  // GetBundle; true when the bundle changed (the connection must then trust the new roots).
  absl::StatusOr<bool> FetchBundle(const std::shared_ptr<ServerClient>& client);
  // GetFederatedBundle for every trust domain the held entries federate with, into the cache. A domain the server
  // has no bundle for is dropped; on any other error the bundle held so far is kept.
  void FetchFederatedBundles(const std::shared_ptr<ServerClient>& client);
  absl::Status Mint();
  // The agent SVID and key persisted in data_dir, checked as CheckIdentity does. NotFound when neither exists;
  // otherwise an error naming each unusable file and why (truncated, corrupt, key of another SVID, expired,
  // not signed by the trusted bundle): such state is never used.
  absl::StatusOr<Identity> LoadPersistedIdentity();
  // Checks a chain the server returned (or that was persisted) for `key`; fills an Identity.
  absl::StatusOr<Identity> CheckIdentity(std::vector<std::string> chain_der, ssl::EvpPkeyPtr key,
                                         bool verify_to_bundle);
  absl::Status Reconnect();
  void DropIdentity(const absl::Status& why);
  std::shared_ptr<ServerClient> client() const;
  std::optional<spiffe::Bundle> trusted_bundle() const;
  void Count(std::string_view key, const absl::Status& result);
  void NotifyIdentity(bool attested);
  void SetTrustedBundle(spiffe::Bundle b, bool persist);

  ManagerOptions opts_;
  const Clock& clock_;
  ServerConnector& connector_;
  NodeAttestorClient& attestor_;
  KeyManager& keys_;
  AgentStorage& storage_;
  std::shared_ptr<Cache> cache_;
  telemetry::Registry* const metrics_;
  const std::function<void(bool)> identity_changed_;

  mutable std::mutex mu_;
  std::optional<Identity> identity_;
  std::optional<spiffe::Bundle> bundle_;  // trusted roots for the server connection
  std::shared_ptr<ServerClient> client_;
  // The server's word at the last attestation; before any (an SVID reused after a restart), what the attestor says.
  bool reattestable_ = false;

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
  bool stop_ = false;

  std::atomic<int> attestations_{0};
  std::atomic<int64_t> last_sync_unix_ns_{0};  // 0 = never
};

}  // namespace spirecvm::agent
