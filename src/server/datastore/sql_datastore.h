// The DataStore logic written once over SqlConn, shared by the SQLite and PostgreSQL backends.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "common/clock.h"
#include "common/random.h"
#include "server/datastore/datastore.h"
#include "server/datastore/sql_conn.h"

namespace spirecvm::datastore {

// Creates the schema_version table if needed and applies every pending migration in one write transaction.
// FailedPrecondition if the database is newer than this build. Returns the resulting version.
absl::StatusOr<int64_t> MigrateSchema(SqlConn& conn);

// What a transaction does and where it may run.
enum class TxMode {
  kRead,         // read-only, possibly on a read replica (stale by its lag)
  kReadPrimary,  // read-only on the primary: authorization-critical reads (bans, serials)
  kWrite,        // read-write on the primary
};

// How the shared logic gets a connection and a transaction. Run executes `body` inside one transaction (see
// TxMode) and commits when body returns OK; on
// error it rolls back and returns body's status. A backend may run body more than once (retry after a
// serialization failure or a dropped connection): body must have no effect outside the connection it is given.
class SqlTxRunner {
 public:
  virtual ~SqlTxRunner() = default;
  virtual absl::Status Run(TxMode mode, const std::function<absl::Status(SqlConn&)>& body) = 0;
};

// One connection behind a mutex, no retries (SQLite: writers are serialised by the database anyway). `random`
// draws the ids of entries created without one; clock and random must outlive the store.
std::unique_ptr<DataStore> NewSqlDataStore(std::unique_ptr<SqlConn> conn, Clock& clock, Random& random);
// Any transaction runner (PostgreSQL: a pool with retries).
std::unique_ptr<DataStore> NewSqlDataStore(std::unique_ptr<SqlTxRunner> runner, Clock& clock, Random& random);

}  // namespace spirecvm::datastore
