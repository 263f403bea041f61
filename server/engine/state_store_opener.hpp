// open_state_store: the engine's StateStore (server/store/state_store.hpp)
// as EngineOptions::store says: "sqlite" (the default: Store, the file
// <state_dir>/edgefed.sqlite) or a PostgreSQL URI "postgresql://..." /
// "postgres://..." (PgStore; the password from --store-password-file or
// libpq's PGPASSWORD / ~/.pgpass, never in the URI).
// A database that cannot be reached is tried again, with the reason
// logged, for EngineOptions::store_connect_s seconds before start-up
// fails: replicas and their database often start together.
// Errors: kInvalidArgument (a bad location, a password in the URI, a build
// without libpq), kUnavailable (unreachable after the retries), and the
// stores' own (kIo, kUnprocessable for a foreign schema version).
#pragma once

#include <memory>

#include "edgefed/clock.hpp"
#include "edgefed/status.hpp"
#include "server/engine/engine_options.hpp"
#include "server/store/replica_set.hpp"
#include "server/store/state_store.hpp"

namespace edgefed::server {

// Whether `store` names a PostgreSQL database (a postgresql:// or
// postgres:// URI) rather than "sqlite".
bool is_postgres_location(const std::string& store);
// kInvalidArgument with the reason unless `store` is "sqlite" or a
// PostgreSQL URI without a password.
Status check_store_location(const std::string& store);

Result<std::unique_ptr<StateStore>> open_state_store(const EngineOptions& options, const Clock& clock);

// The replica set this server joins (server/store/replica_set.hpp): null
// with the SQLite store (no replicas), a PgReplicaSet on a connection of
// its own with a PostgreSQL one, named options.replica_name or else the
// host name. An unreachable database is retried as by open_state_store;
// errors are its.
Result<std::unique_ptr<ReplicaSet>> open_replica_set(const EngineOptions& options, const Clock& clock);

// What every replica of one database must agree on, as a JSON object: the
// model the database was initialised from (its spec's canonical JSON, so a
// preset and a file holding the same spec agree) and every option that
// changes how updates are accepted, weighted or merged. Task and HTTP
// options may differ. kInvalidArgument if model_init does not load.
Result<std::string> replica_config_json(const EngineOptions& options);

}  // namespace edgefed::server
