// Creates or checks the tables of the state database (FORMAT.md).
#pragma once

#include "edgefed/status.hpp"
#include "server/store/sqlite_db.hpp"

namespace edgefed::server {

inline constexpr int kSchemaVersion = 1;

// Idempotent. kIo on SQLite errors, kUnprocessable if the file holds a
// different schema version (a newer server wrote it).
Status ensure_schema(SqliteDb& db);

}  // namespace edgefed::server
