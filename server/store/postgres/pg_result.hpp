// The rows of one PostgreSQL query (RAII over libpq's PGresult), made by
// PgConnection::query. Rows and columns are 0-based. A result in text
// format (the default) holds every value as text; one in binary format
// holds each value in its type's binary form (PgFormat in
// pg_connection.hpp). The accessors read both:
//   get_text   the value as received: text, or in a binary result the raw
//              bytes (a bytea's bytes without a copy, valid as long as the
//              PgResult)
//   get_bytes  a bytea value, decoded (hex text) or as received (binary)
//   get_int64  an integer column (smallint, integer, bigint), or the text
//              of one
// Reading NULL, a row or column out of range, or an integer that does not
// parse gives "" or 0: check is_null() where NULL is allowed.
// Thread safety: const reads from several threads are safe; ownership
// moves with the object; it does not depend on its connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct pg_result;

namespace edgefed::server {

class PgResult {
 public:
  PgResult() = default;  // no rows, no columns
  explicit PgResult(pg_result* result) : res_(result) {}  // takes ownership
  ~PgResult();
  PgResult(PgResult&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  int columns() const;
  // The index of the column named `name`, or -1.
  int column(const std::string& name) const;
  // Rows inserted, updated or deleted by the command (a SELECT's: rows()).
  std::int64_t rows_affected() const;

  bool is_null(int row, int col) const;
  std::string_view get_text(int row, int col) const;
  std::string get_bytes(int row, int col) const;
  std::int64_t get_int64(int row, int col) const;

 private:
  pg_result* res_ = nullptr;
};

}  // namespace edgefed::server
