// A thin RAII layer over the SQLite C API for the agent's outbox: a connection
// (SqliteDb), prepared statements (SqliteStmt) and an immediate transaction
// guard (SqliteTransaction). Every failure is a Status (kIo with SQLite's
// message); nothing throws.
//
// Thread safety: none. The owner (Outbox) serialises access with its mutex.
// Ownership: a SqliteStmt must not outlive the SqliteDb that prepared it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edgefed/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace edgefed::agent {

class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& o) noexcept;
  SqliteStmt& operator=(SqliteStmt&& o) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  // Parameters are 1-based, as in SQLite. Text and blobs are copied.
  SqliteStmt& bind(int index, int64_t value);
  SqliteStmt& bind(int index, double value);
  SqliteStmt& bind(int index, std::string_view text);
  SqliteStmt& bind_blob(int index, std::string_view bytes);

  // true: a row is available; false: done. kIo on failure.
  Result<bool> step();
  // Steps to completion, ignoring rows.
  Status run();

  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::string column_blob(int index) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

class SqliteDb {
 public:
  // Opens (creating with mode 0600 if absent) the database file at `path`.
  // kIo if the file cannot be created or is not a database.
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without parameters.
  Status exec(std::string_view sql);
  Result<SqliteStmt> prepare(std::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const;
  // A single integer from a one-row query ("SELECT COUNT(*) ..."), 0 if no row.
  Result<int64_t> query_int(std::string_view sql);

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE on construction (check status()), ROLLBACK in the
// destructor unless commit() succeeded.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  const Status& status() const { return begin_; }
  Status commit();

 private:
  SqliteDb& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace edgefed::agent
