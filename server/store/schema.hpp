// Creates or checks the tables of the state database (FORMAT.md).
#pragma once

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

inline constexpr int kSchemaVersion = 1;

// Idempotent. SQLite errors as mapped by edgefed/sqlite/error.hpp,
// kUnprocessable if the file holds a different schema version (a newer
// server wrote it).
Status ensure_schema(sqlite::Database& db);
// Only the version check, for read-only connections.
Status check_schema(sqlite::Database& db);

}  // namespace edgefed::server
