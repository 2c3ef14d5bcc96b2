#include "agent/keymanager/key_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <vector>

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

// The contract on KeyManager: any thread, concurrently. A Load racing Commits sees a whole key (one of those
// committed) or NotFound before the first, never a torn file; under ASan this also catches unsynchronized access.
void HammerConcurrently(KeyManager& km) {
  std::vector<std::string> committed;
  std::vector<ssl::EvpPkeyPtr> keys;
  for (int i = 0; i < 4; ++i) {
    keys.push_back(*km.Generate(crypto::KeyType::kEcP256));
    committed.push_back(*crypto::PublicKeyToDer(keys.back().get()));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) EXPECT_TRUE(km.Commit(keys[static_cast<size_t>(t)].get()).ok());
    });
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto k = km.Load();
        if (!k.ok()) {
          EXPECT_TRUE(absl::IsNotFound(k.status())) << k.status();
          continue;
        }
        EXPECT_NE(std::find(committed.begin(), committed.end(), *crypto::PublicKeyToDer(k->get())), committed.end());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(km.Load().ok());
  EXPECT_TRUE(km.Remove().ok());
  EXPECT_TRUE(absl::IsNotFound(km.Load().status()));
}

TEST(KeyManagerTest, MemoryIsSafeToShareBetweenThreads) {
  MemoryKeyManager km;
  HammerConcurrently(km);
}

TEST(KeyManagerTest, DiskIsSafeToShareBetweenThreads) {
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("km-threads-", getpid());
  DiskKeyManager km(dir.string());
  HammerConcurrently(km);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spirecvm::agent
