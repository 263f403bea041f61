// One SQLite connection in WAL mode. The file is created with mode 0600
// (SQLite gives its -wal and -shm files the same mode): it holds every
// update and checkpoint. Not thread-safe: the engine gives the connection to
// exactly one thread (the writer); SQLite's own locking covers the file.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "edgefed/status.hpp"
#include "server/store/statement.hpp"

struct sqlite3;

namespace edgefed::server {

class SqliteDb {
 public:
  // Creates the file (0600) if missing, turns on WAL, foreign keys and a busy
  // timeout. fsync_full: synchronous=FULL (power-loss safe) else NORMAL
  // (process-crash safe). kIo on failure.
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path, bool fsync_full);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  Status exec(const std::string& sql);  // one or more statements, no rows
  Result<Statement> prepare(const std::string& sql);
  // A statement prepared once per connection and kept, reset and with its
  // bindings cleared. The pointer stays valid as long as the connection.
  Result<Statement*> cached(const std::string& sql);

  // BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback() never fails loudly: it is
  // the error path already.
  Status begin();
  Status commit();
  void rollback();

  // Caps the file at about max_bytes (PRAGMA max_page_count; 0 = no cap).
  // Writes beyond it fail with kIo ("database or disk is full").
  Status set_max_bytes(int64_t max_bytes);

  int64_t changes() const;  // rows changed by the last statement
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  std::map<std::string, Statement> cache_;  // destroyed before db_ closes
  sqlite3* db_;
  std::string path_;
};

}  // namespace edgefed::server
