#include "agent/keymanager/key_manager.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace spirecvm::agent {

absl::StatusOr<ssl::EvpPkeyPtr> MemoryKeyManager::Generate(crypto::KeyType type) { return crypto::GenerateKey(type); }

absl::Status MemoryKeyManager::Commit(EVP_PKEY* key) {
  key_ = crypto::ShareKey(key);
  return absl::OkStatus();
}

absl::StatusOr<ssl::EvpPkeyPtr> MemoryKeyManager::Load() {
  if (!key_) return absl::NotFoundError("no agent key in memory");
  return crypto::ShareKey(key_.get());
}

absl::Status MemoryKeyManager::Remove() {
  key_.reset();
  return absl::OkStatus();
}

absl::StatusOr<ssl::EvpPkeyPtr> DiskKeyManager::Generate(crypto::KeyType type) { return crypto::GenerateKey(type); }

absl::Status DiskKeyManager::Commit(EVP_PKEY* key) {
  if (absl::Status st = files::EnsureDir(directory_, 0700); !st.ok()) return st;
  auto pem = crypto::PrivateKeyToPem(key);
  if (!pem.ok()) return pem.status();
  return files::WriteFileAtomic(path(), *pem, 0600);
}

absl::StatusOr<ssl::EvpPkeyPtr> DiskKeyManager::Load() {
  auto pem = files::ReadFile(path());
  if (!pem.ok()) return pem.status();
  auto key = crypto::PrivateKeyFromPem(*pem);
  if (!key.ok()) return absl::DataLossError(absl::StrCat(path(), ": ", key.status().message()));
  return key;
}

absl::Status DiskKeyManager::Remove() {
  if (::unlink(path().c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("remove ", path(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::unique_ptr<KeyManager> MakeKeyManager(const std::string& name, const std::string& directory) {
  if (name == "memory") return std::make_unique<MemoryKeyManager>();
  return std::make_unique<DiskKeyManager>(directory);
}

}  // namespace spirecvm::agent
