// One SQLite connection (RAII), the project's only way to a SQLite file: the
// server's store, the agent's outbox and the read-only views of both.
//
//   auto db = Database::open(path, {.vfs = options.vfs});
//   Transaction tx(**db);                       // sqlite/transaction.hpp
//   (*db)->prepare("INSERT ...")->bind(1, x).run();
//   tx.commit();
//
// Files: a writable database is created with mode 0600 whatever the umask
// (SQLite gives its -wal and -shm files the same mode): it holds updates and
// checkpoints. A read-only one must exist and is never created or changed.
// Storage seam: every file operation goes through the SQLite VFS named in
// OpenOptions::vfs (empty: SQLite's default, the unix VFS). Tests register a
// VFS that delegates to the default one and injects faults (fsync failure,
// disk full) to exercise the callers' error paths against real files.
// Errors: every failure is a Status mapped by sqlite/error.hpp; nothing
// throws. Thread safety: none (SQLITE_OPEN_NOMUTEX); one owner at a time,
// SQLite's file locking covers other connections and processes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "edgefed/sqlite/statement.hpp"
#include "edgefed/status.hpp"

struct sqlite3;

namespace edgefed::sqlite {

struct OpenOptions {
  bool read_only = false;
  // Name of a registered SQLite VFS; empty = the default VFS. Production
  // uses the default; fault tests pass their own (see above).
  std::string vfs{};
  // How long a statement waits for another connection's lock before
  // failing with kUnavailable.
  int busy_timeout_ms = 5000;
};

class Database {
 public:
  // Opens (read-write: creating it 0600 if missing) the database at `path`.
  // kIo if the file cannot be created or opened, kInvalidArgument for an
  // unknown VFS name.
  static Result<std::unique_ptr<Database>> open(const std::string& path, const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // One or more statements, no parameters, rows ignored.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // A statement prepared once per connection and kept, reset and with its
  // bindings cleared. The pointer stays valid as long as the connection.
  Result<Statement*> cached(const std::string& sql);
  // The first column of the first row as an integer; 0 if there is no row.
  Result<int64_t> query_int(std::string_view sql);

  // PRAGMA journal_mode=WAL, checked to have taken effect (kIo if not).
  Status enable_wal();
  // Deferred durability, for a writer that fsyncs on another thread while
  // it goes on (the server's pipelined group commit): with PRAGMA
  // synchronous=NORMAL a WAL commit is ordered but not fsynced, and
  // sync_wal() makes every transaction committed before it durable.
  // prepare_wal_sync() (owner thread, WAL mode, the log opened: after the
  // first statement) finds the log's file handle and syncs it once: SQLite's
  // first sync of a new log also syncs its directory, a flag it keeps on
  // that handle, so it is done here before any other thread may sync.
  // kInternal if the log is not open, kUnavailable if the fsync failed.
  Status prepare_wal_sync();
  // The one call that may run on another thread while the owner uses the
  // connection: an fsync of the log through the connection's VFS (so the
  // fault seam reaches it), touching nothing else. Not concurrently with
  // itself. kUnavailable if the fsync failed, kInternal before
  // prepare_wal_sync().
  Status sync_wal();
  // A checkpoint that waits for no other connection (SQLITE_CHECKPOINT_
  // PASSIVE): copies what it can of the log into the database file, syncing
  // both as PRAGMA synchronous says. The log starts over at the next write
  // transaction only once every frame was copied. kUnavailable if another
  // checkpoint runs or a write or fsync failed.
  struct WalProgress {
    int log_frames = 0;     // frames in the log
    int copied_frames = 0;  // of those, in the database file now
  };
  Result<WalProgress> checkpoint();
  // Replaces SQLite's automatic checkpoint (PRAGMA wal_autocheckpoint, which
  // runs in the committing call): `hook` runs on the owner's thread after
  // each commit with the frames in the log, and decides. It may call
  // checkpoint(). An empty hook restores the automatic checkpoint.
  void set_wal_hook(std::function<void(int log_frames)> hook);
  // Caps the file at about max_bytes (PRAGMA max_page_count; <= 0: no cap).
  // Writes beyond it fail like a full disk (kUnavailable).
  Status set_max_bytes(int64_t max_bytes);

  // BEGIN IMMEDIATE / COMMIT / ROLLBACK, for transactions that span calls
  // (sqlite/transaction.hpp is the scoped form). A failed commit leaves the
  // transaction rolled back or still open: call rollback() either way.
  // rollback() never fails loudly: it is the error path already.
  Status begin();
  Status commit();
  void rollback();
  bool in_transaction() const;

  int64_t changes() const;  // rows changed by the last statement
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  std::map<std::string, Statement, std::less<>> cache_;  // destroyed before db_ closes
  sqlite3* db_;
  std::string path_;
  // The log's sqlite3_file, owned by SQLite for the connection's lifetime
  // (set by prepare_wal_sync()).
  void* wal_file_ = nullptr;
  std::function<void(int)> wal_hook_;
};

}  // namespace edgefed::sqlite
