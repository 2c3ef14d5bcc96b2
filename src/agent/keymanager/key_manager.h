// Where the agent keeps the private key of its own SVID. "disk" survives restarts (so a restarted agent keeps
// its identity without attesting again); "memory" forces a new attestation after every restart.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::agent {

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
  ssl::EvpPkeyPtr key_;
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
  std::string directory_;
};

std::unique_ptr<KeyManager> MakeKeyManager(const std::string& name, const std::string& directory);

}  // namespace spirecvm::agent
