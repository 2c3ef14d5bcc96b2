#include "agent/keymanager/key_manager.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"

namespace spirecvm::agent {

absl::StatusOr<ssl::EvpPkeyPtr> MemoryKeyManager::Generate(crypto::KeyType type) { return crypto::GenerateKey(type); }

absl::Status MemoryKeyManager::Commit(EVP_PKEY* key) {
  std::lock_guard<std::mutex> l(mu_);
  key_ = crypto::ShareKey(key);
  return absl::OkStatus();
}

absl::StatusOr<ssl::EvpPkeyPtr> MemoryKeyManager::Load() {
  std::lock_guard<std::mutex> l(mu_);
  if (!key_) return absl::NotFoundError("no agent key in memory");
  return crypto::ShareKey(key_.get());
}

absl::Status MemoryKeyManager::Remove() {
  std::lock_guard<std::mutex> l(mu_);
  key_.reset();
  return absl::OkStatus();
}

absl::StatusOr<ssl::EvpPkeyPtr> DiskKeyManager::Generate(crypto::KeyType type) { return crypto::GenerateKey(type); }

absl::Status DiskKeyManager::Commit(EVP_PKEY* key) {
  ASSIGN_OR_RETURN(const std::string pem, crypto::PrivateKeyToPem(key));
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(files::EnsureDir(directory_, 0700));
  return files::WriteFileAtomic(path(), pem, 0600);
}

absl::StatusOr<ssl::EvpPkeyPtr> DiskKeyManager::Load() {
  ASSIGN_OR_RETURN(const std::string pem, files::ReadFile(path()));
  auto key = crypto::PrivateKeyFromPem(pem);
  if (!key.ok()) return absl::DataLossError(absl::StrCat(path(), ": ", key.status().message()));
  return key;
}

absl::Status DiskKeyManager::Remove() {
  std::lock_guard<std::mutex> l(mu_);
  if (::unlink(path().c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("remove ", path(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

DiskKeyManagerConfig ParseDiskKeyManagerConfig(config::Section& plugin_data) {
  DiskKeyManagerConfig c;
  c.directory = plugin_data.String("directory");
  return c;
}

absl::StatusOr<std::unique_ptr<KeyManager>> BuildDiskKeyManager(const DiskKeyManagerConfig& config,
                                                                const KeyManagerDeps& deps) {
  return std::unique_ptr<KeyManager>(new DiskKeyManager(config.directory.value_or(deps.data_dir)));
}

MemoryKeyManagerConfig ParseMemoryKeyManagerConfig(config::Section&) { return {}; }

absl::StatusOr<std::unique_ptr<KeyManager>> BuildMemoryKeyManager(const MemoryKeyManagerConfig&,
                                                                  const KeyManagerDeps&) {
  return std::unique_ptr<KeyManager>(new MemoryKeyManager());
}

}  // namespace spirecvm::agent
