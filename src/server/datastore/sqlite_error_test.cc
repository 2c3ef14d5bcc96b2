// SqliteStatus on real SQLite failures: a full database names the file and "No space left on device"
// (ResourceExhausted); constraint and corruption codes keep their mapping.
#include "server/datastore/sqlite_error.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spirecvm::datastore {
namespace {

using ::testing::HasSubstr;

class SqliteErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / absl::StrCat("sqlite-error-", getpid(), ".db")).string();
    std::filesystem::remove(path_);
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    sqlite3_extended_result_codes(db_, 1);
  }
  void TearDown() override {
    sqlite3_close(db_);
    std::filesystem::remove(path_);
  }
  int Exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }

  std::string path_;
  sqlite3* db_ = nullptr;
};

// max_page_count makes SQLite answer SQLITE_FULL exactly as a full disk does.
TEST_F(SqliteErrorTest, FullDatabaseNamesFileAndReason) {
  ASSERT_EQ(Exec("CREATE TABLE t (v BLOB)"), SQLITE_OK);
  ASSERT_EQ(Exec("PRAGMA max_page_count = 3"), SQLITE_OK);
  int rc = SQLITE_OK;
  for (int i = 0; i < 100 && rc == SQLITE_OK; ++i) rc = Exec("INSERT INTO t VALUES (zeroblob(4000))");
  ASSERT_EQ(rc & 0xff, SQLITE_FULL);
  absl::Status st = SqliteStatus(db_, rc, "\"INSERT\"", path_);
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr(absl::StrCat("datastore: sqlite database ", path_, ": No space left on device")));
  EXPECT_THAT(st.message(), HasSubstr("\"INSERT\""));
}

TEST_F(SqliteErrorTest, IoErrorNamesFile) {
  absl::Status st = SqliteStatus(nullptr, SQLITE_IOERR_WRITE, "\"COMMIT\"", path_);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr(absl::StrCat("datastore: sqlite database ", path_, ": I/O error")));
}

TEST_F(SqliteErrorTest, ConstraintAndCorruptionMappingsKept) {
  ASSERT_EQ(Exec("CREATE TABLE u (k TEXT PRIMARY KEY)"), SQLITE_OK);
  ASSERT_EQ(Exec("INSERT INTO u VALUES ('a')"), SQLITE_OK);
  int rc = Exec("INSERT INTO u VALUES ('a')");
  EXPECT_TRUE(absl::IsAlreadyExists(SqliteStatus(db_, rc, "insert", path_)));
  EXPECT_TRUE(absl::IsDataLoss(SqliteStatus(nullptr, SQLITE_CORRUPT, "read", path_)));
  EXPECT_TRUE(absl::IsUnavailable(SqliteStatus(nullptr, SQLITE_BUSY, "begin", path_)));
}

}  // namespace
}  // namespace spirecvm::datastore
