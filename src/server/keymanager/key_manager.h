// KeyManager: where the server's CA and JWT signing keys live. The CA sees a key only as a crypto::Signer (public
// key + Sign(digest)): "memory" keeps the keys in the process (lost on restart, as in SPIRE); "disk" persists them
// (PKCS#8, one JSON file, mode 0600); "aws_kms" (aws_kms_key_manager.h) keeps them in AWS KMS, never here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/config_reader.h"
#include "crypto/keys.h"
#include "crypto/signer.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::server {

// Thread-safety: every method may be called concurrently from any thread (the CA's rotation loop,
// gRPC handler threads); implementations serialize access to their key set themselves.
class KeyManager {
 public:
  virtual ~KeyManager() = default;
  // Makes a new key under `id`, replacing any old one; the key is durable before this returns. A signer handed out
  // earlier for the replaced key may stop working.
  virtual absl::StatusOr<std::shared_ptr<crypto::Signer>> GenerateKey(std::string_view id, crypto::KeyType type) = 0;
  // NotFound when no key has that id.
  virtual absl::StatusOr<std::shared_ptr<crypto::Signer>> GetKey(std::string_view id) = 0;
  virtual std::string_view Name() const = 0;
};

std::unique_ptr<KeyManager> NewMemoryKeyManager();

struct DiskKeyManagerConfig {
  std::string keys_path;  // the JSON file holding the keys (SPIRE's `keys_path`); created 0600 on first write
};
// Reads KeyManager "disk" plugin_data; InvalidArgument when keys_path is missing.
absl::StatusOr<DiskKeyManagerConfig> ParseDiskKeyManagerConfig(config::Section& data);
absl::StatusOr<std::unique_ptr<KeyManager>> NewDiskKeyManager(std::string keys_path);

}  // namespace spirecvm::server
