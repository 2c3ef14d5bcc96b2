// The DataStore schema as an ordered list of migrations, shared by every SQL backend. Dialect differences are
// confined to RenderSql's token substitution.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/datastore/sql_conn.h"

namespace spirecvm::datastore {

// Migration i (0-based) takes the schema from version i to version i+1. Append only; never edit a shipped one.
const std::vector<std::string_view>& Migrations();
// The schema version this build writes: Migrations().size().
int64_t CodeSchemaVersion();

// Replaces the dialect tokens in a migration:
//   {{AUTO_ID}}  an auto-incrementing 64-bit primary key whose values are never reused
//   {{BYTES}}    a byte-string column type
std::string RenderSql(std::string_view sql, Dialect d);

// The bootstrap table holding the single schema version row (created before any migration runs).
inline constexpr std::string_view kSchemaVersionDdl =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " version BIGINT NOT NULL)";

}  // namespace spirecvm::datastore
