#include "server/datastore/sqlite_datastore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "server/datastore/sql_conn.h"
#include "server/datastore/sql_datastore.h"
#include "server/datastore/sqlite_error.h"

namespace spirecvm::datastore {
namespace {

// One SQLite connection with a cache of prepared statements keyed by their SQL text.
class SqliteConn final : public SqlConn {
 public:
  SqliteConn(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteConn() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::Status QueryEach(std::string_view sql, const SqlParams& params,
                         absl::FunctionRef<void(SqlRow&)> on_row) override {
    SqlRow row;
    return Run(sql, params, [&](sqlite3_stmt* stmt) {
      ReadRow(stmt, row);
      on_row(row);
    });
  }

  absl::StatusOr<int64_t> Exec(std::string_view sql, const SqlParams& params) override {
    RETURN_IF_ERROR(Run(sql, params, kNoRows));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  absl::Status ExecScript(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);  // sqlite3_errmsg (in SqliteStatus) holds the same text
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, absl::StrCat("\"", s.substr(0, 80), "\""), path_);
    return absl::OkStatus();
  }

  absl::Status Begin(bool write) override { return Run(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", {}, kNoRows); }
  absl::Status Commit() override { return Run("COMMIT", {}, kNoRows); }
  void Rollback() override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  sqlite3* db() const { return db_; }

 private:
  absl::StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, absl::StrCat("prepare \"", ToAbsl(sql), "\""), path_);
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  // on_row sees the statement positioned on each row (kNoRows: statements whose rows are not read).
  absl::Status Run(std::string_view sql, const SqlParams& params, absl::FunctionRef<void(sqlite3_stmt*)> on_row) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    RETURN_IF_ERROR(Bind(stmt, sql, params));
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return absl::OkStatus();
      if (rc != SQLITE_ROW) return SqliteStatus(db_, rc, absl::StrCat("\"", ToAbsl(sql), "\""), path_);
      on_row(stmt);
    }
  }

  absl::Status Bind(sqlite3_stmt* stmt, std::string_view sql, const SqlParams& params) {
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return absl::InternalError(absl::StrCat("sqlite: \"", ToAbsl(sql), "\" takes ",
                                              sqlite3_bind_parameter_count(stmt), " parameters, given ",
                                              params.size()));
    }
    static const char kEmpty[1] = {0};
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (const auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, idx, s->empty() ? kEmpty : s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (const auto* b = std::get_if<Blob>(&v)) {
        // A null pointer would bind NULL: empty blobs point at a static byte.
        rc =
            sqlite3_bind_blob64(stmt, idx, b->bytes.empty() ? kEmpty : b->bytes.data(), b->bytes.size(), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) {
        return SqliteStatus(db_, rc, absl::StrCat("bind parameter ", idx, " of \"", ToAbsl(sql), "\""), path_);
      }
    }
    return absl::OkStatus();
  }

  static void kNoRows(sqlite3_stmt*) {}

  // Reads the current row into `row`, reusing the strings it already holds (the previous row's) where it can.
  static void ReadRow(sqlite3_stmt* stmt, SqlRow& row) {
    const int n = sqlite3_column_count(stmt);
    row.resize(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c) {
      SqlValue& v = row[static_cast<size_t>(c)];
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          v = static_cast<int64_t>(sqlite3_column_int64(stmt, c));
          break;
        case SQLITE_FLOAT:
          v = static_cast<int64_t>(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_TEXT: {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          const auto len = static_cast<size_t>(sqlite3_column_bytes(stmt, c));
          auto* s = std::get_if<std::string>(&v);
          if (s == nullptr) s = &v.emplace<std::string>();
          s->assign(p != nullptr ? p : "", len);
          break;
        }
        case SQLITE_BLOB: {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          const auto len = static_cast<size_t>(sqlite3_column_bytes(stmt, c));
          auto* b = std::get_if<Blob>(&v);
          if (b == nullptr) b = &v.emplace<Blob>();
          b->bytes.assign(p != nullptr ? p : "", p != nullptr ? len : 0);
          break;
        }
        default:
          v = std::monostate{};
      }
    }
  }

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

absl::StatusOr<std::string> PragmaText(SqliteConn& c, std::string_view pragma) {
  ASSIGN_OR_RETURN(auto rows, c.Query(pragma, {}));
  if (rows.empty() || rows[0].empty()) return std::string();
  if (const auto* i = std::get_if<int64_t>(&rows[0][0])) return absl::StrCat(*i);
  return AsStr(rows[0][0]);
}

bool IsFilePath(const std::string& p) { return p != ":memory:" && !p.empty() && p.rfind("file:", 0) != 0; }

// Creates the database file 0600 (SQLite gives its -wal and -shm files the same mode) and makes its directory entry
// durable, so a power cut right after the first commit cannot lose the file itself.
absl::Status CreateFilePrivate(const std::string& path) {
  if (access(path.c_str(), F_OK) == 0) return absl::OkStatus();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("datastore: cannot create ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

// WAL keeps readers off the writer's back; synchronous=FULL fsyncs the WAL at every commit, so an acknowledged
// transaction survives kill -9 and power loss (NORMAL would only survive the former).
absl::Status ConfigureConnection(SqliteConn& conn, bool file_backed) {
  ASSIGN_OR_RETURN(std::string mode, PragmaText(conn, "PRAGMA journal_mode = WAL"));
  if (absl::AsciiStrToLower(mode) != "wal" && file_backed) {
    return absl::FailedPreconditionError(absl::StrCat("cannot enable WAL journal mode (got \"", mode, "\")"));
  }
  for (std::string_view p : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
    RETURN_IF_ERROR(conn.ExecScript(p));
  }
  ASSIGN_OR_RETURN(std::string fk, PragmaText(conn, "PRAGMA foreign_keys"));
  if (fk != "1") return absl::FailedPreconditionError("this SQLite build cannot enforce foreign keys");
  ASSIGN_OR_RETURN(std::string sync, PragmaText(conn, "PRAGMA synchronous"));
  if (sync != "2") return absl::FailedPreconditionError(absl::StrCat("synchronous=FULL not applied (", sync, ")"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataStore>> OpenSqlite(const SqliteOptions& opts, Clock& clock, Random& random) {
  if (opts.path.empty()) return absl::InvalidArgumentError("datastore: sqlite path is empty");
  if (IsFilePath(opts.path)) RETURN_IF_ERROR(CreateFilePrivate(opts.path));
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(opts.path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  auto conn = std::make_unique<SqliteConn>(raw, opts.path);  // owns raw even when open failed
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat("datastore: cannot open sqlite database ", opts.path, ": ",
                                               raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, opts.busy_timeout_ms);
  const std::string context = absl::StrCat("datastore: sqlite database ", opts.path);
  RETURN_IF_ERROR(Annotate(ConfigureConnection(*conn, IsFilePath(opts.path)), context));
  RETURN_IF_ERROR(Annotate(MigrateSchema(*conn), context));
  return NewSqlDataStore(std::move(conn), clock, random);
}

}  // namespace spirecvm::datastore
