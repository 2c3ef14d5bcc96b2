// SQLite backend of the DataStore: one file, WAL journal, synchronous=FULL (an acknowledged write survives kill -9
// and power loss), foreign keys on, schema migrations. One connection behind a mutex: calls are serialised.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/random.h"
#include "server/datastore/datastore.h"

namespace spirecvm::datastore {

struct SqliteOptions {
  std::string path;            // database file; ":memory:" allowed for tests
  int busy_timeout_ms = 5000;  // how long to wait for a lock held by another connection/process
};

// Opens (creating if needed) and migrates the database. FailedPrecondition if the database's schema is newer than
// this build knows; Unavailable/Internal with the path and SQLite's message if it cannot be opened.
// `random` draws the ids of entries created without one. clock and random must outlive the store.
absl::StatusOr<std::unique_ptr<DataStore>> OpenSqlite(const SqliteOptions& opts, Clock& clock,
                                                      Random& random = SystemRandom::Get());

}  // namespace spirecvm::datastore
