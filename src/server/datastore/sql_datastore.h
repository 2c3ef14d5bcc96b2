// The DataStore logic written once over SqlConn, shared by the SQLite and (later) PostgreSQL backends.
#pragma once

#include <memory>
#include <mutex>

#include "common/clock.h"
#include "server/datastore/datastore.h"
#include "server/datastore/sql_conn.h"

namespace spirecvm::datastore {

// Creates the schema_version table if needed and applies every pending migration in one write transaction.
// FailedPrecondition if the database is newer than this build. Returns the resulting version.
absl::StatusOr<int64_t> MigrateSchema(SqlConn& conn);

// Owns one connection and serialises every call on a mutex. (A PostgreSQL backend with a pool replaces the
// single connection in WithConn/Tx; nothing else changes.)
std::unique_ptr<DataStore> NewSqlDataStore(std::unique_ptr<SqlConn> conn, Clock& clock);

}  // namespace spirecvm::datastore
