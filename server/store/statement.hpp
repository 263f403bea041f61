// A prepared SQLite statement (RAII). Bind indexes are 1-based, columns
// 0-based, as in the SQLite C API. Not thread-safe: it belongs to the
// connection that prepared it, which has one owner.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "edgefed/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace edgefed::server {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binding copies the value (SQLITE_TRANSIENT) unless noted.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  // Not copied (SQLITE_STATIC): the bytes must stay valid until reset().
  // Blobs are update bodies and checkpoints of up to tens of MB; a copy per
  // insert was 3-4 % of the server's CPU per update.
  Statement& bind_blob(int index, std::span<const uint8_t> blob);
  Statement& bind_null(int index);

  // One step: true when a row is available, false when done. kIo on errors
  // (kConflict for constraint violations). Binding errors surface here too.
  Result<bool> step();
  // Steps to completion, ignoring rows.
  Status run();
  // Ready for new bindings and a new run.
  void reset();

  int64_t column_int(int col) const;
  double column_double(int col) const;
  bool column_is_null(int col) const;
  std::string column_text(int col) const;
  // Valid until the next step/reset.
  std::span<const uint8_t> column_blob(int col) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = 0;  // first bind error, reported by step()
};

}  // namespace edgefed::server
