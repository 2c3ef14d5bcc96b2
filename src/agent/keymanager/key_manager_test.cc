#include "agent/keymanager/key_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace spirecvm::agent {
namespace {

TEST(KeyManagerTest, DiskPersistsOnlyCommittedKeys0600) {
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("km-", getpid());
  DiskKeyManager km(dir.string());
  EXPECT_TRUE(absl::IsNotFound(km.Load().status()));
  auto k = km.Generate(crypto::KeyType::kEcP256);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(absl::IsNotFound(km.Load().status()));
  ASSERT_TRUE(km.Commit(k->get()).ok());
  struct stat st;
  ASSERT_EQ(::stat(km.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  DiskKeyManager again(dir.string());
  auto loaded = again.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*crypto::PublicKeyToDer(loaded->get()), *crypto::PublicKeyToDer(k->get()));
  ASSERT_TRUE(again.Remove().ok());
  EXPECT_TRUE(absl::IsNotFound(again.Load().status()));
  std::filesystem::remove_all(dir);
}

TEST(KeyManagerTest, MemoryForgets) {
  MemoryKeyManager km;
  auto k = km.Generate(crypto::KeyType::kEcP256);
  ASSERT_TRUE(km.Commit(k->get()).ok());
  EXPECT_TRUE(km.Load().ok());
  MemoryKeyManager other;
  EXPECT_FALSE(other.Load().ok());
}

}  // namespace
}  // namespace spirecvm::agent
