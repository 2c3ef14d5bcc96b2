#include "server/keymanager/key_manager.h"

#include <sys/stat.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace spirecvm::server {
namespace {

std::string TempDir() {
  std::string t = std::filesystem::temp_directory_path() / "cvm-km-XXXXXX";
  return mkdtemp(t.data());
}

TEST(MemoryKeyManager, GeneratesAndReturnsTheSameKey) {
  auto km = NewMemoryKeyManager();
  auto k = km->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256);
  ASSERT_TRUE(k.ok()) << k.status();
  auto again = km->GetKey("x509-CA-A");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(EVP_PKEY_eq((*k)->PublicKey(), (*again)->PublicKey()), 1);
  EXPECT_TRUE(absl::IsNotFound(km->GetKey("nope").status()));
}

TEST(DiskKeyManager, KeysSurviveARestartAndTheFileIs0600) {
  std::string dir = TempDir();
  std::string path = dir + "/keys.json";
  std::shared_ptr<crypto::Signer> first;
  {
    auto km = NewDiskKeyManager(path);
    ASSERT_TRUE(km.ok()) << km.status();
    auto k = (*km)->GenerateKey("JWT-Signer-A", crypto::KeyType::kEcP384);
    ASSERT_TRUE(k.ok()) << k.status();
    first = std::move(*k);
  }
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto km = NewDiskKeyManager(path);
  ASSERT_TRUE(km.ok()) << km.status();
  auto k = (*km)->GetKey("JWT-Signer-A");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(EVP_PKEY_eq(first->PublicKey(), (*k)->PublicKey()), 1);
  // The signer signs with the persisted key: its signature verifies with the first public key.
  auto sig = crypto::SignData(**k, EVP_sha384(), "data");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(crypto::VerifySignature(first->PublicKey(), EVP_sha384(), "data", *sig).ok());
  std::filesystem::remove_all(dir);
}

TEST(DiskKeyManager, RejectsACorruptKeysFile) {
  std::string dir = TempDir();
  std::string path = dir + "/keys.json";
  FILE* f = fopen(path.c_str(), "w");
  fputs("{not json", f);
  fclose(f);
  auto km = NewDiskKeyManager(path);
  ASSERT_FALSE(km.ok());
  EXPECT_NE(std::string(km.status().message()).find("not a valid keys file"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::server
