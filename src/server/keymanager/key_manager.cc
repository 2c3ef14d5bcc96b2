#include "server/keymanager/key_manager.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace spirecvm::server {
namespace {

class MemoryKeyManager final : public KeyManager {
 public:
  absl::StatusOr<std::shared_ptr<crypto::Signer>> GenerateKey(std::string_view id, crypto::KeyType type) override {
    ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, crypto::GenerateKey(type));
    ASSIGN_OR_RETURN(std::shared_ptr<crypto::Signer> signer, crypto::NewLocalSigner(std::move(key)));
    std::lock_guard<std::mutex> l(mu_);
    keys_[std::string(id)] = signer;
    return signer;
  }
  absl::StatusOr<std::shared_ptr<crypto::Signer>> GetKey(std::string_view id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(std::string(id));
    if (it == keys_.end())
      return absl::NotFoundError(absl::StrCat("no key with id \"", std::string(id), "\" in the memory KeyManager"));
    return it->second;
  }
  std::string_view Name() const override { return "memory"; }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<crypto::Signer>> keys_;
};

// All keys in one JSON document {"keys": {"<id>": "<PKCS#8 PEM>"}} rewritten atomically on change,
// so a crash leaves either the old or the new set, never a torn file.
class DiskKeyManager final : public KeyManager {
 public:
  explicit DiskKeyManager(std::string path) : path_(std::move(path)) {}

  absl::Status Load() {
    auto text = files::ReadFile(path_);
    if (!text.ok()) {
      if (absl::IsNotFound(text.status())) return absl::OkStatus();
      return text.status();
    }
    nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_object()) {
      return absl::DataLossError(absl::StrCat(path_, " is not a valid keys file"));
    }
    for (auto& [id, pem] : doc["keys"].items()) {
      if (!pem.is_string()) return absl::DataLossError(absl::StrCat("key ", id, " in ", path_, " is not a string"));
      auto key = crypto::PrivateKeyFromPem(pem.get<std::string>());
      if (!key.ok()) return absl::DataLossError(absl::StrCat("key ", id, " in ", path_, ": ", key.status().message()));
      keys_[id] = std::move(*key);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<crypto::Signer>> GenerateKey(std::string_view id, crypto::KeyType type) override {
    ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, crypto::GenerateKey(type));
    std::lock_guard<std::mutex> l(mu_);
    std::map<std::string, ssl::EvpPkeyPtr> next;
    for (auto& [k, v] : keys_) next[k] = crypto::ShareKey(v.get());
    next[std::string(id)] = crypto::ShareKey(key.get());
    RETURN_IF_ERROR(Persist(next));
    keys_ = std::move(next);
    return crypto::NewLocalSigner(std::move(key));
  }

  absl::StatusOr<std::shared_ptr<crypto::Signer>> GetKey(std::string_view id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(std::string(id));
    if (it == keys_.end())
      return absl::NotFoundError(absl::StrCat("no key with id \"", std::string(id), "\" in ", path_));
    return crypto::NewLocalSigner(crypto::ShareKey(it->second.get()));
  }
  std::string_view Name() const override { return "disk"; }

 private:
  absl::Status Persist(const std::map<std::string, ssl::EvpPkeyPtr>& keys) {
    nlohmann::json doc;
    doc["keys"] = nlohmann::json::object();
    for (auto& [k, v] : keys) {
      ASSIGN_OR_RETURN(doc["keys"][k], crypto::PrivateKeyToPem(v.get()));
    }
    return files::WriteFileAtomic(path_, doc.dump(2), 0600);
  }

  std::string path_;
  std::mutex mu_;
  std::map<std::string, ssl::EvpPkeyPtr> keys_;
};

}  // namespace

std::unique_ptr<KeyManager> NewMemoryKeyManager() { return std::make_unique<MemoryKeyManager>(); }

absl::StatusOr<DiskKeyManagerConfig> ParseDiskKeyManagerConfig(config::Section& data) {
  DiskKeyManagerConfig c{data.String("keys_path").value_or("")};
  if (c.keys_path.empty()) return absl::InvalidArgumentError("keys_path is required");
  return c;
}

absl::StatusOr<std::unique_ptr<KeyManager>> NewDiskKeyManager(std::string keys_path) {
  if (keys_path.empty()) return absl::InvalidArgumentError("keys_path is required");
  auto km = std::make_unique<DiskKeyManager>(std::move(keys_path));
  RETURN_IF_ERROR(km->Load());
  return km;
}

}  // namespace spirecvm::server
