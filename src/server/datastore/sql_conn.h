// The narrow SQL connection interface the shared DataStore logic (sql_datastore.cc) runs on. Each backend (SQLite,
// PostgreSQL) implements it; everything dialect-specific lives behind it or in schema.cc.
//
// SQL handed to Query/Exec uses '?' placeholders (the PostgreSQL backend rewrites them to $1..$n once per cached
// statement). Values are NULL, 64-bit integers, text, or bytes (Blob).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "common/status.h"

namespace spirecvm::datastore {

struct Blob {
  std::string bytes;
};
using SqlValue = std::variant<std::monostate, int64_t, std::string, Blob>;
using SqlRow = std::vector<SqlValue>;
using SqlParams = std::vector<SqlValue>;

enum class Dialect { kSqlite, kPostgres };

// A single database connection; not thread-safe (the DataStore serialises access to it).
// Error mapping every backend must follow: unique/primary-key violation -> AlreadyExists; foreign-key violation ->
// FailedPrecondition; lock timeout / connection loss -> Unavailable; anything else -> Internal.
class SqlConn {
 public:
  virtual ~SqlConn() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement (prepared once and cached by its text) and hands each row to on_row as it is read. The row
  // object is reused for the next row (its strings keep their buffers), so on_row copies or moves out what it keeps;
  // reading a large result this way holds one row at a time instead of all of them (the entry cache's first load).
  virtual absl::Status QueryEach(std::string_view sql, const SqlParams& params,
                                 absl::FunctionRef<void(SqlRow&)> on_row) = 0;
  // The same, collecting every row.
  absl::StatusOr<std::vector<SqlRow>> Query(std::string_view sql, const SqlParams& params) {
    std::vector<SqlRow> rows;
    RETURN_IF_ERROR(QueryEach(sql, params, [&](SqlRow& r) { rows.push_back(std::move(r)); }));
    return rows;
  }
  // Runs one statement; returns the number of rows changed.
  virtual absl::StatusOr<int64_t> Exec(std::string_view sql, const SqlParams& params) = 0;
  // Runs several ';'-separated statements without parameters (migrations).
  virtual absl::Status ExecScript(std::string_view sql) = 0;
  // write=true takes the write lock up front (SQLite: BEGIN IMMEDIATE), so a write transaction never fails
  // half-way on a lock upgrade.
  virtual absl::Status Begin(bool write) = 0;
  virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
};

// Why a failed statement may be retried as a whole transaction. A backend attaches this to the Status it returns
// (a payload; the code stays Unavailable). The transaction runner retries kSerialization and kConnectionLost
// when they happen before COMMIT was sent; a connection lost during COMMIT is ambiguous and never retried.
enum class SqlRetry { kNone, kSerialization, kConnectionLost };
inline constexpr const char* kSqlRetryPayloadUrl = "type.spirecvm.dev/datastore.retry";

inline absl::Status WithRetry(absl::Status s, SqlRetry kind) {
  if (!s.ok() && kind != SqlRetry::kNone) {
    s.SetPayload(kSqlRetryPayloadUrl, absl::Cord(kind == SqlRetry::kSerialization ? "serialization" : "connection"));
  }
  return s;
}
inline SqlRetry RetryOf(const absl::Status& s) {
  auto p = s.GetPayload(kSqlRetryPayloadUrl);
  if (!p) return SqlRetry::kNone;
  return *p == "serialization" ? SqlRetry::kSerialization : SqlRetry::kConnectionLost;
}

inline int64_t AsInt(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  return 0;
}
inline std::string AsStr(const SqlValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<Blob>(&v)) return b->bytes;
  return {};
}

}  // namespace spirecvm::datastore
