// A prepared SQLite statement (RAII), made by Database::prepare/cached. Bind
// indexes are 1-based, columns 0-based, as in the SQLite C API.
// Thread safety: none; it belongs to its connection, which has one owner.
// Ownership: must not outlive the Database that prepared it.
// Errors: step()/run() return a Status mapped by sqlite/error.hpp (e.g.
// kConflict for constraint violations, kUnavailable for disk full or I/O
// errors); a binding error surfaces at the next step() as kInternal.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace edgefed::sqlite {

class Statement {
 public:
  Statement() = default;  // empty: only assignment and destruction are valid
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Integers, doubles and text are copied.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  // Blobs are NOT copied (SQLITE_STATIC): the bytes must stay valid until
  // the statement is reset or destroyed. Blobs are update bodies and
  // checkpoints of up to tens of MB; a copy per insert was 3-4 % of the
  // server's CPU per update. An empty blob stays a blob, not NULL.
  Statement& bind_blob(int index, std::span<const uint8_t> blob);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // One step: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion, ignoring rows.
  Status run();
  // Ready for new bindings and a new run.
  void reset();
  // Column 0 of the first row as an integer (`if_empty` without a row), then
  // reset(): for COUNT, SUM and MAX queries.
  Result<int64_t> first_int(int64_t if_empty = 0);
  // Column 0 of every row as an integer, in order, then reset().
  Result<std::vector<int64_t>> all_ints();

  int64_t column_int(int col) const;
  double column_double(int col) const;
  bool column_is_null(int col) const;
  bool column_is_blob(int col) const;
  std::string column_text(int col) const;
  // Valid until the next step/reset.
  std::span<const uint8_t> column_blob(int col) const;
  std::string column_blob_string(int col) const;  // a copy

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = 0;  // first bind error, reported by step()
};

}  // namespace edgefed::sqlite
