// Creates or checks the tables of the PostgreSQL state database: the tables
// of ../FORMAT.md in PostgreSQL types (BIGINT, BYTEA, TEXT, DOUBLE
// PRECISION, BOOLEAN for the two flags), with the same keys and uniqueness
// ((agent, update_id) of the ledger, (agent, seq) of telemetry, ...) and
// the same schema version row in `meta`.
// Several servers may open one database at once: creation runs in one
// transaction under a transaction-scoped advisory lock, so they never race.
// Thread safety: as the PgConnection.
#pragma once

#include "edgefed/status.hpp"
#include "server/store/postgres/pg_connection.hpp"

namespace edgefed::server {

// The schema version this server writes and reads (as the SQLite store's).
inline constexpr int kPgSchemaVersion = 1;

// Idempotent; runs its own transaction (kInternal if one is already open).
// Errors as mapped by pg_error.hpp; kUnprocessable if the database holds a
// different schema version (a newer server wrote it).
Status ensure_pg_schema(PgConnection& conn);
// Only the version check.
Status check_pg_schema(PgConnection& conn);

}  // namespace edgefed::server
