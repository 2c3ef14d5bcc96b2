// SQLite result codes as absl::Status, for the SQLite backend (sqlite_datastore.cc).
#pragma once

#include <sqlite3.h>

#include <string_view>

#include "absl/status/status.h"

namespace spirecvm::datastore {

// The status for a failed SQLite call on `db` (may be null) with result code `rc`; `what` names the call (the SQL),
// `path` the database file. Constraint violations map to AlreadyExists / FailedPrecondition, busy to Unavailable,
// corruption to DataLoss. A failure of the disk under the database (SQLITE_FULL, SQLITE_IOERR) names the file and
// the OS reason ("No space left on device": ResourceExhausted; other I/O errors: Unavailable) and is logged at
// error level here, where it is known: the status may travel to a client that cannot see the server's disk.
absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view what, std::string_view path);

}  // namespace spirecvm::datastore
