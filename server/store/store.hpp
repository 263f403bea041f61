// The server's state database: one SQLite file (<state_dir>/edgefed.sqlite,
// WAL, mode 0600) with the tables of FORMAT.md, reached through one table
// object each. Owns the connection.
// Not thread-safe: the engine hands the Store to its writer thread; other
// threads never touch it. Transactions: begin()/commit()/rollback() on db();
// every table call made in between is part of that transaction.
#pragma once

#include <memory>
#include <string>

#include "edgefed/status.hpp"
#include "server/store/agent_table.hpp"
#include "server/store/ledger_table.hpp"
#include "server/store/sqlite_db.hpp"
#include "server/store/telemetry_table.hpp"
#include "server/store/version_table.hpp"

namespace edgefed::server {

class Store {
 public:
  // Creates state_dir (0700) if missing, opens or creates the database and
  // its tables. kIo on file-system or SQLite errors.
  // max_bytes > 0 caps the database file (SqliteDb::set_max_bytes).
  static Result<std::unique_ptr<Store>> open(const std::string& state_dir, bool fsync_full,
                                             int64_t max_bytes = 0);
  static std::string database_path(const std::string& state_dir);

  SqliteDb& db() { return *db_; }
  LedgerTable& ledger() { return ledger_; }
  VersionTable& versions() { return versions_; }
  TelemetryTable& telemetry() { return telemetry_; }
  AgentTable& agents() { return agents_; }

 private:
  explicit Store(std::unique_ptr<SqliteDb> db)
      : db_(std::move(db)), ledger_(*db_), versions_(*db_), telemetry_(*db_), agents_(*db_) {}
  std::unique_ptr<SqliteDb> db_;
  LedgerTable ledger_;
  VersionTable versions_;
  TelemetryTable telemetry_;
  AgentTable agents_;
};

}  // namespace edgefed::server
