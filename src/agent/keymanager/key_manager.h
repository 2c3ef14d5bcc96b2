// Where the agent keeps the private key of its own SVID. "disk" survives restarts (so a restarted agent keeps
// its identity without attesting again); "memory" forces a new attestation after every restart.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/config_reader.h"
#include "crypto/keys.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::agent {

// What the catalog (agent/catalog.h) builds a KeyManager with, besides its plugin_data.
struct KeyManagerDeps {
  std::string data_dir;  // agent.data_dir (after -dataDir): where "disk" keeps the key unless told otherwise
};

// Thread-safety: every method may be called from any thread, concurrently. The manager thread generates, commits
// and removes keys while the main thread may still be loading the persisted one (Init) and tests drive several
// managers at once; implementations serialize access to the committed key, and a Load racing a Commit sees either
// the old key or the new one, never a torn file.
class KeyManager {
 public:
  virtual ~KeyManager() = default;
  virtual std::string name() const = 0;
  // A new key. It is not persisted until Commit: a key whose CSR was never signed must not replace a good one.
  virtual absl::StatusOr<ssl::EvpPkeyPtr> Generate(crypto::KeyType type) = 0;
  // Persists `key` as the agent SVID key (disk: 0600, atomic replace).
  virtual absl::Status Commit(EVP_PKEY* key) = 0;
  // The committed key; NotFound when there is none.
  virtual absl::StatusOr<ssl::EvpPkeyPtr> Load() = 0;
  virtual absl::Status Remove() = 0;
};

class MemoryKeyManager final : public KeyManager {
 public:
  std::string name() const override { return "memory"; }
  absl::StatusOr<ssl::EvpPkeyPtr> Generate(crypto::KeyType type) override;
  absl::Status Commit(EVP_PKEY* key) override;
  absl::StatusOr<ssl::EvpPkeyPtr> Load() override;
  absl::Status Remove() override;

 private:
  std::mutex mu_;
  ssl::EvpPkeyPtr key_;  // guarded by mu_
};

// Stores <directory>/agent_svid.key (PKCS#8 PEM, 0600).
class DiskKeyManager final : public KeyManager {
 public:
  explicit DiskKeyManager(std::string directory) : directory_(std::move(directory)) {}
  std::string name() const override { return "disk"; }
  absl::StatusOr<ssl::EvpPkeyPtr> Generate(crypto::KeyType type) override;
  absl::Status Commit(EVP_PKEY* key) override;
  absl::StatusOr<ssl::EvpPkeyPtr> Load() override;
  absl::Status Remove() override;
  std::string path() const { return directory_ + "/agent_svid.key"; }

 private:
  const std::string directory_;
  std::mutex mu_;  // orders Commit and Remove (each file operation is atomic on its own)
};

// plugin_data of KeyManager "disk": directory (default: agent.data_dir).
struct DiskKeyManagerConfig {
  std::optional<std::string> directory;
};
DiskKeyManagerConfig ParseDiskKeyManagerConfig(config::Section& plugin_data);
absl::StatusOr<std::unique_ptr<KeyManager>> BuildDiskKeyManager(const DiskKeyManagerConfig& config,
                                                                const KeyManagerDeps& deps);

// KeyManager "memory" takes no plugin_data.
struct MemoryKeyManagerConfig {};
MemoryKeyManagerConfig ParseMemoryKeyManagerConfig(config::Section& plugin_data);
absl::StatusOr<std::unique_ptr<KeyManager>> BuildMemoryKeyManager(const MemoryKeyManagerConfig& config,
                                                                  const KeyManagerDeps& deps);

}  // namespace spirecvm::agent
