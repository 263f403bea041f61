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

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"
#include "server/store/agent_table.hpp"
#include "server/store/channel_table.hpp"
#include "server/store/ledger_table.hpp"
#include "server/store/relay_batch_table.hpp"
#include "server/store/secagg_session_table.hpp"
#include "server/store/side_call.hpp"
#include "server/store/state_store.hpp"
#include "server/store/telemetry_table.hpp"
#include "server/store/update_spool.hpp"
#include "server/store/version_table.hpp"
#include "server/store/wal_checkpointer.hpp"

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
  // > 0: pending update bodies go to a ring file of this many bytes,
  // <state_dir>/edgefed.spool (update_spool.hpp), instead of the ledger's
  // payload column. A file that still holds pending bodies keeps the size
  // it was written with until they are merged, and is read (not written)
  // with spool_bytes 0.
  int64_t spool_bytes = 0;
  // Opens the spool's file; null = the real file (posix_spool_file). The
  // seam for the spool's fault tests.
  std::function<Result<std::unique_ptr<SpoolFile>>(const std::string& path)> spool_file{};
};

class Store final : public StateStore {
 public:
  // Creates state_dir (0700) if missing, opens or creates the database and
  // its tables. kIo on file-system errors.
  static Result<std::unique_ptr<Store>> open(const std::string& state_dir, const StoreOptions& options = {});
  ~Store() override;
  static std::string database_path(const std::string& state_dir);
  static std::string spool_path(const std::string& state_dir);

  sqlite::Database& db() { return *db_; }
  Status reconnect() override { return Status::ok(); }  // a file is never disconnected
  Status begin() override { return db_->begin(); }
  // With a spool and synchronous=FULL, fsyncs the spool first: a durable
  // row never names a body that is not.
  Status commit() override;
  void rollback() override;
  std::string describe() const override { return db_->path(); }
  bool defers_sync() const override { return defer_sync_; }
  // The WAL and the spool, fsynced at once; then the bodies the covered
  // commits merged are free for reuse.
  Status sync_committed() override;
  // Null with spool_bytes 0, even while the file is still open to read the
  // bodies an earlier run left pending.
  std::shared_ptr<UpdateSpool> spool() override { return appendable_ ? spool_ : nullptr; }

  LedgerTable& ledger() override { return ledger_; }
  VersionTable& versions() override { return versions_; }
  TelemetryTable& telemetry() override { return telemetry_; }
  AgentTable& agents() override { return agents_; }
  ChannelTable& channels() override { return channels_; }
  SecAggSessionTable& secagg_sessions() { return secagg_sessions_; }
  RelayBatchTable* relay_batches() override { return &relay_batches_; }

 private:
  Store(std::unique_ptr<sqlite::Database> db, bool fsync_full, bool defer_sync, std::shared_ptr<UpdateSpool> spool,
        bool appendable)
      : db_(std::move(db)), fsync_full_(fsync_full), defer_sync_(defer_sync), spool_(std::move(spool)),
        appendable_(appendable),
        ledger_(*db_, spool_.get(), &txn_released_), versions_(*db_), telemetry_(*db_), agents_(*db_),
        channels_(*db_), secagg_sessions_(*db_), relay_batches_(*db_) {
    if (spool_ && defer_sync_)
      spool_sync_ = std::make_unique<SideCall>([s = spool_.get()] { return s->sync(); }, "edgefed-spoolfs");
  }
  static Result<std::shared_ptr<UpdateSpool>> open_spool(sqlite::Database& db, const std::string& state_dir,
                                                         const StoreOptions& options);

  std::unique_ptr<sqlite::Database> db_;
  // Checkpoints the log off the writer's thread (wal_checkpointer.hpp);
  // null with a test VFS, whose fault counts it would disturb. Destroyed
  // before db_.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  const bool fsync_full_;
  const bool defer_sync_;
  std::shared_ptr<UpdateSpool> spool_;
  const bool appendable_;
  // Spool offsets the open transaction merged (LedgerTable::consume*);
  // then, committed, waiting for the fsync that makes that durable.
  std::vector<int64_t> txn_released_;
  std::mutex unsynced_mu_;
  std::vector<int64_t> unsynced_released_;
  LedgerTable ledger_;
  VersionTable versions_;
  TelemetryTable telemetry_;
  AgentTable agents_;
  ChannelTable channels_;
  SecAggSessionTable secagg_sessions_;
  RelayBatchTable relay_batches_;
  // sync_committed()'s spool fsync, beside the WAL's; after the spool.
  std::unique_ptr<SideCall> spool_sync_;
};

}  // namespace edgefed::server
