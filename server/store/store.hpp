// The server's state database in SQLite, the embedded default StateStore
// (state_store.hpp): one file (<state_dir>/edgefed.sqlite, WAL, mode 0600)
// with the tables of FORMAT.md, reached through one table object each,
// plus the secure aggregation sessions (not yet in PostgreSQL). Owns the
// connection (edgefed/sqlite/database.hpp).
// Not thread-safe: the engine hands the Store to its writer thread; other
// threads never touch it. A second Store on the same file (the secure
// aggregation sink, server/secagg/stored_session_sink.hpp) is a second
// connection: SQLite's WAL locks and busy timeout serialise the two
// writers. Transactions: begin()/commit()/rollback() on db();
// every table call made in between is part of that transaction.
// Errors: SQLite failures as mapped by edgefed/sqlite/error.hpp; a full disk
// or a failed write or fsync is kUnavailable and leaves nothing of the
// failed transaction.
#pragma once

#include <memory>
#include <string>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/agent_table.hpp"
#include "server/store/channel_table.hpp"
#include "server/store/ledger_table.hpp"
#include "server/store/relay_batch_table.hpp"
#include "server/store/secagg_session_table.hpp"
#include "server/store/state_store.hpp"
#include "server/store/telemetry_table.hpp"
#include "server/store/version_table.hpp"

namespace edgefed::server {

struct StoreOptions {
  // synchronous=FULL (power-loss safe: every commit fsyncs the WAL) else
  // NORMAL (process-crash safe).
  bool fsync_full = true;
  // With fsync_full: commits are not fsynced (synchronous=NORMAL) and
  // sync_committed() fsyncs the WAL instead, so a writer can fsync one batch
  // on another thread while it runs the next (defers_sync() is true).
  bool defer_sync = false;
  // > 0 caps the database file (sqlite::Database::set_max_bytes).
  int64_t max_bytes = 0;
  // The SQLite VFS every file operation goes through; empty = the default.
  // The seam for storage fault tests (edgefed/sqlite/database.hpp).
  std::string vfs{};
};

class Store final : public StateStore {
 public:
  // Creates state_dir (0700) if missing, opens or creates the database and
  // its tables. kIo on file-system errors.
  static Result<std::unique_ptr<Store>> open(const std::string& state_dir, const StoreOptions& options = {});
  static std::string database_path(const std::string& state_dir);

  sqlite::Database& db() { return *db_; }
  Status reconnect() override { return Status::ok(); }  // a file is never disconnected
  Status begin() override { return db_->begin(); }
  Status commit() override { return db_->commit(); }
  void rollback() override { db_->rollback(); }
  std::string describe() const override { return db_->path(); }
  bool defers_sync() const override { return defer_sync_; }
  Status sync_committed() override { return defer_sync_ ? db_->sync_wal() : Status::ok(); }

  LedgerTable& ledger() override { return ledger_; }
  VersionTable& versions() override { return versions_; }
  TelemetryTable& telemetry() override { return telemetry_; }
  AgentTable& agents() override { return agents_; }
  ChannelTable& channels() override { return channels_; }
  SecAggSessionTable& secagg_sessions() { return secagg_sessions_; }
  RelayBatchTable* relay_batches() override { return &relay_batches_; }

 private:
  Store(std::unique_ptr<sqlite::Database> db, bool defer_sync)
      : db_(std::move(db)), defer_sync_(defer_sync), ledger_(*db_), versions_(*db_), telemetry_(*db_), agents_(*db_), channels_(*db_),
        secagg_sessions_(*db_), relay_batches_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  const bool defer_sync_;
  LedgerTable ledger_;
  VersionTable versions_;
  TelemetryTable telemetry_;
  AgentTable agents_;
  ChannelTable channels_;
  SecAggSessionTable secagg_sessions_;
  RelayBatchTable relay_batches_;
};

}  // namespace edgefed::server
