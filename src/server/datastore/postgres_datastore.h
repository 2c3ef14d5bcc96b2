// PostgreSQL backend of the DataStore (libpq): the same schema, migrations and SQL as SQLite (sql_datastore.cc),
// a connection pool, prepared statements per connection, SERIALIZABLE write transactions retried on
// serialization failures / deadlocks and on dropped connections, optional read replicas for read-only
// transactions. Several spire-server processes may share one database (docs/high-availability.md).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "server/datastore/datastore.h"

namespace spirecvm::datastore {

struct PostgresOptions {
  // libpq connection string ("host=... port=... dbname=... user=... password=... sslmode=...") or URI
  // (postgresql://user:pass@host:port/db?sslmode=verify-full). Several hosts with target_session_attrs=read-write
  // let reconnects follow a primary failover.
  std::string connection_string;
  // Optional read replica (hot standby) for read-only transactions. Replication lag makes those reads stale
  // (by the lag); writes and the event polling of incremental caches stay correct. Falls back to the primary
  // when the replica cannot be reached.
  std::string ro_connection_string;
  // Pool size per connection string (primary, replica). Callers beyond it wait for a free connection.
  int max_open_conns = 10;
  // A connection older than this is closed when returned to the pool; 0 = unlimited.
  absl::Duration conn_max_lifetime = absl::ZeroDuration();
  // At open: how long to keep retrying (with backoff, logging each attempt) while the database is unreachable
  // or starting up, before failing with Unavailable.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Per transaction: how long to keep retrying after serialization failures and dropped connections (e.g. a
  // PostgreSQL restart) before returning Unavailable.
  absl::Duration retry_timeout = absl::Seconds(15);
};

// Connects (retrying up to connect_timeout), migrates the schema (serialised across servers by an advisory lock)
// and returns the store. InvalidArgument for a bad configuration; Unavailable (naming host/port/db/user, never
// the password) when the database stays unreachable; FailedPrecondition when its schema is newer than this build.
// `random` draws the ids of entries created without one. clock and random must outlive the store.
absl::StatusOr<std::unique_ptr<DataStore>> OpenPostgres(const PostgresOptions& opts, Clock& clock,
                                                        Random& random = SystemRandom::Get());

// "host=h port=p dbname=d user=u" for messages: the connection string with secrets left out.
std::string DescribePostgresTarget(const std::string& connection_string);

}  // namespace spirecvm::datastore
