#include "server/datastore/sqlite_datastore.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/datastore/datastore_conformance.h"
#include "server/datastore/schema.h"

namespace spirecvm::datastore {
namespace {

using ::testing::HasSubstr;

INSTANTIATE_TEST_SUITE_P(Sqlite, DataStoreConformance,
                         ::testing::Values(DataStoreBackend{"sqlite_memory",
                                                            [](Clock& c) -> std::unique_ptr<DataStore> {
                                                              auto ds = OpenSqlite({":memory:"}, c);
                                                              EXPECT_TRUE(ds.ok()) << ds.status();
                                                              return ds.ok() ? std::move(*ds) : nullptr;
                                                            }}),
                         DataStoreBackendName);

// The same suite on a real file (WAL, fsync), one fresh file per test, in a directory removed at exit.
class FileDbCounter {
 public:
  static std::string Next() {
    static int n = 0;
    static const struct Dir {
      std::string path;
      Dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "cvm-ds-conf-XXXXXX").string();
        const char* d = mkdtemp(tmpl.data());
        path = d != nullptr ? d : "";
      }
      ~Dir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
      }
    } dir;
    return absl::StrCat(dir.path, "/db", n++, ".sqlite");
  }
};
INSTANTIATE_TEST_SUITE_P(SqliteFile, DataStoreConformance,
                         ::testing::Values(DataStoreBackend{"sqlite_file",
                                                            [](Clock& c) -> std::unique_ptr<DataStore> {
                                                              auto ds = OpenSqlite({FileDbCounter::Next()}, c);
                                                              EXPECT_TRUE(ds.ok()) << ds.status();
                                                              return ds.ok() ? std::move(*ds) : nullptr;
                                                            }}),
                         DataStoreBackendName);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cvm-ds-XXXXXX").string();
    const char* d = mkdtemp(tmpl.data());
    path_ = d != nullptr ? d : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return absl::StrCat(path_, "/", name); }

 private:
  std::string path_;
};

// Runs one SQL statement on a raw connection and returns the first column of every row as text.
std::vector<std::string> RawQuery(const std::string& path, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const int col = sqlite3_column_count(st) > 3 ? 3 : 0;  // EXPLAIN QUERY PLAN: detail is column 3
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      out.emplace_back(t != nullptr ? t : "");
    }
    if (rc != SQLITE_DONE) ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

RegistrationEntry Entry(int i) {
  RegistrationEntry e;
  e.spiffe_id = absl::StrCat("spiffe://td/w", i);
  e.parent_id = "spiffe://td/spire/agent/a";
  e.selectors = {{"unix", absl::StrCat("uid:", i)}};
  return e;
}

// Entry ids come from the Random the store was opened with (no hidden global): the same seed gives the same id.
TEST(SqliteDatastore, EntryIdsAreDrawnFromTheInjectedRandom) {
  TestOnlyDeterministicRandom r1(5), r2(5);
  auto a = OpenSqlite({":memory:"}, RealClock::Get(), r1);
  auto b = OpenSqlite({":memory:"}, RealClock::Get(), r2);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ea = (*a)->CreateEntry(Entry(1));
  auto eb = (*b)->CreateEntry(Entry(1));
  ASSERT_TRUE(ea.ok() && eb.ok());
  EXPECT_EQ(ea->id, eb->id);
  EXPECT_THAT(ea->id, ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  TestOnlyDeterministicRandom r3(6);
  auto c = OpenSqlite({":memory:"}, RealClock::Get(), r3);
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*c)->CreateEntry(Entry(1))->id, ea->id);
}

TEST(SqliteDatastore, DataSurvivesReopenAndSchemaVersionIsStable) {
  TempDir dir;
  const std::string path = dir.File("ds.sqlite");
  std::string id;
  {
    auto ds = OpenSqlite({path}, RealClock::Get());
    ASSERT_TRUE(ds.ok()) << ds.status();
    auto e = (*ds)->CreateEntry(Entry(1));
    ASSERT_TRUE(e.ok());
    id = e->id;
    ASSERT_TRUE((*ds)->SetCaJournal("s1", "journal").ok());
  }
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version"),
            std::vector<std::string>{absl::StrCat(CodeSchemaVersion())});
  {
    auto ds = OpenSqlite({path}, RealClock::Get());
    ASSERT_TRUE(ds.ok()) << ds.status();
    EXPECT_TRUE((*ds)->FetchEntry(id).ok());
    EXPECT_EQ(*(*ds)->FetchCaJournal("s1"), "journal");
  }
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version"),
            std::vector<std::string>{absl::StrCat(CodeSchemaVersion())});
  EXPECT_EQ(RawQuery(path, "SELECT COUNT(*) FROM schema_version"), std::vector<std::string>{"1"});
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST(SqliteDatastore, RefusesDatabaseNewerThanCode) {
  TempDir dir;
  const std::string path = dir.File("ds.sqlite");
  { ASSERT_TRUE(OpenSqlite({path}, RealClock::Get()).ok()); }
  RawQuery(path, absl::StrCat("UPDATE schema_version SET version = ", CodeSchemaVersion() + 1));
  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ds.status().message(), HasSubstr("newer than this build"));
  EXPECT_THAT(ds.status().message(), HasSubstr(absl::StrCat("version ", CodeSchemaVersion() + 1)));
  EXPECT_THAT(ds.status().message(), HasSubstr(path));
  // Nothing was changed by the refused open.
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version"),
            std::vector<std::string>{absl::StrCat(CodeSchemaVersion() + 1)});
}

TEST(SqliteDatastore, MigratesAnEmptyExistingFile) {
  TempDir dir;
  const std::string path = dir.File("empty.sqlite");
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_TRUE((*ds)->CreateEntry(Entry(1)).ok());
}

// A database written by a build at schema version 1 is migrated in place: its bundle keeps its authorities, which
// start untainted, and can then be tainted.
TEST(SqliteDatastore, MigratesVersion1BundleToTaintableAuthorities) {
  TempDir dir;
  const std::string path = dir.File("v1.sqlite");
  const std::string ca = MakeTestCertDer("ca", kConformanceT0 - 10, kConformanceT0 + 1000);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string v1 =
        absl::StrCat(std::string(kSchemaVersionDdl), ";", RenderSql(Migrations()[0], Dialect::kSqlite),
                     "INSERT INTO schema_version (id, version) VALUES (1, 1);"
                     "INSERT INTO bundles VALUES ('spiffe://td', 7, 0);"
                     "INSERT INTO bundle_jwt_keys VALUES ('spiffe://td', 'k1', 0, x'01', 0);");
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO bundle_x509_authorities VALUES ('spiffe://td', 'fp', 0, ?, 1)", -1,
                                 &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(st, 1, ca.data(), static_cast<int>(ca.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version"),
            std::vector<std::string>{absl::StrCat(CodeSchemaVersion())});
  auto b = (*ds)->FetchBundle("spiffe://td");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->x509_authorities_der, std::vector<std::string>{ca});
  EXPECT_TRUE(b->tainted_x509_der.empty());
  ASSERT_EQ(b->jwt_keys.size(), 1u);
  EXPECT_FALSE(b->jwt_keys[0].tainted);
  ASSERT_TRUE((*ds)->TaintJwtKey("spiffe://td", "k1").ok());
  EXPECT_TRUE((*ds)->FetchBundle("spiffe://td")->jwt_keys[0].tainted);
  EXPECT_EQ((*ds)->FetchBundle("spiffe://td")->sequence_number, 8u);
}

// Version 7 drops the (type, value) index of node selectors, which no query used: a version-6 database (the same
// schema with that index) migrates in place, and its nodes keep their selectors.
TEST(SqliteDatastore, MigratesVersion6AwayFromTheNodeSelectorIndex) {
  TempDir dir;
  const std::string path = dir.File("v6.sqlite");
  AttestedNode n;
  n.spiffe_id = "spiffe://td/spire/agent/aws_iid/i-1";
  n.attestation_type = "aws_iid";
  n.cert_serial = "1";
  n.selectors = {{"aws_iid", "az:us-east-1a"}, {"aws_iid", "measurements:00ff"}};
  {
    auto ds = OpenSqlite({path}, RealClock::Get());
    ASSERT_TRUE(ds.ok()) << ds.status();
    ASSERT_TRUE((*ds)->CreateAttestedNode(n).ok());
  }
  const std::string kIndex = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'node_selectors_type_value'";
  EXPECT_EQ(RawQuery(path, kIndex), std::vector<std::string>{"0"});
  RawQuery(path, "CREATE INDEX node_selectors_type_value ON node_selectors (type, value)");
  RawQuery(path, "UPDATE schema_version SET version = 6");
  ASSERT_EQ(RawQuery(path, kIndex), std::vector<std::string>{"1"});

  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version"),
            std::vector<std::string>{absl::StrCat(CodeSchemaVersion())});
  EXPECT_EQ(RawQuery(path, kIndex), std::vector<std::string>{"0"});
  auto got = (*ds)->FetchAttestedNode(n.spiffe_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->selectors, n.selectors);
}

TEST(SqliteDatastore, RejectsFileThatIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.File("junk.sqlite");
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is definitely not an SQLite database file, it is just text padding padding padding", f);
  std::fclose(f);
  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_FALSE(ds.ok());
  EXPECT_THAT(ds.status().message(), HasSubstr(path));
}

TEST(SqliteDatastore, RejectsUnopenablePath) {
  auto ds = OpenSqlite({"/nonexistent-dir-for-cvm-test/x.sqlite"}, RealClock::Get());
  ASSERT_FALSE(ds.ok());
  EXPECT_THAT(ds.status().message(), HasSubstr("/nonexistent-dir-for-cvm-test/x.sqlite"));
  EXPECT_EQ(OpenSqlite({""}, RealClock::Get()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SqliteDatastore, DatabaseFileIsPrivate) {
  TempDir dir;
  const std::string path = dir.File("ds.sqlite");
  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_TRUE(ds.ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// The hot lookups must be index searches, never table scans.
TEST(SqliteDatastore, HotQueriesUseIndexes) {
  TempDir dir;
  const std::string path = dir.File("ds.sqlite");
  { ASSERT_TRUE(OpenSqlite({path}, RealClock::Get()).ok()); }
  const std::vector<std::string> queries = {
      "EXPLAIN QUERY PLAN SELECT s.entry_id, e.selector_count FROM selectors s JOIN registered_entries e"
      " ON e.id = s.entry_id WHERE s.type = 'a' AND s.value = 'b'",
      "EXPLAIN QUERY PLAN SELECT e.id, s.type FROM registered_entries e JOIN selectors s ON s.entry_id = e.id"
      " WHERE e.parent_id = 'p' ORDER BY e.id",
      "EXPLAIN QUERY PLAN SELECT e.id, s.type FROM registered_entries e JOIN selectors s ON s.entry_id = e.id"
      " WHERE e.spiffe_id = 'p' ORDER BY e.id",
      "EXPLAIN QUERY PLAN SELECT e.id, s.type FROM registered_entries e JOIN selectors s ON s.entry_id = e.id"
      " WHERE e.id = 'p' ORDER BY e.id",
      "EXPLAIN QUERY PLAN SELECT id, entry_id FROM registered_entries_events WHERE id > 5 ORDER BY id",
      "EXPLAIN QUERY PLAN SELECT id FROM registered_entries WHERE spiffe_id = 'a' AND parent_id = 'b'"
      " AND selectors_hash = 'c'",
  };
  for (const auto& q : queries) {
    auto plan = RawQuery(path, q);
    ASSERT_FALSE(plan.empty()) << q;
    for (const auto& step : plan) {
      EXPECT_THAT(step, ::testing::Not(::testing::StartsWith("SCAN"))) << q;
    }
  }
}

// A child writes entries and reports each acknowledged id; we SIGKILL it mid-stream. Every acknowledged id must be
// in the database afterwards and the database must pass integrity_check.
TEST(SqliteDatastore, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  const std::string path = dir.File("durable.sqlite");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto ds = OpenSqlite({path}, RealClock::Get());
    if (!ds.ok()) _exit(2);
    for (int i = 0;; ++i) {
      auto e = (*ds)->CreateEntry(Entry(i));
      if (!e.ok()) _exit(3);
      const std::string line = e->id + "\n";  // < PIPE_BUF: written atomically
      if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
    }
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  ASSERT_NE(in, nullptr);
  std::vector<std::string> acked;
  char buf[128];
  bool killed = false;
  while (std::fgets(buf, sizeof(buf), in) != nullptr) {
    std::string s(buf);
    if (s.empty() || s.back() != '\n') break;  // torn line: not acknowledged
    s.pop_back();
    acked.push_back(s);
    if (!killed && acked.size() >= 200) {
      kill(pid, SIGKILL);  // lines already in the pipe are still read below
      killed = true;
    }
  }
  std::fclose(in);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(killed) << "child exited early with status " << status;
  ASSERT_TRUE(WIFSIGNALED(status)) << "child status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_GE(acked.size(), 200u);

  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  auto ds = OpenSqlite({path}, RealClock::Get());
  ASSERT_TRUE(ds.ok()) << ds.status();
  for (const auto& id : acked) EXPECT_TRUE((*ds)->FetchEntry(id).ok()) << "acknowledged entry lost: " << id;
  EXPECT_GE(*(*ds)->CountEntries(), static_cast<int64_t>(acked.size()));
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

}  // namespace
}  // namespace spirecvm::datastore
