#include "edgefed/sqlite/statement.hpp"

#include <sqlite3.h>

#include <utility>

#include "edgefed/sqlite/error.hpp"

namespace edgefed::sqlite {

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), bind_error_(o.bind_error_) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = std::exchange(o.stmt_, nullptr);
    bind_error_ = o.bind_error_;
  }
  return *this;
}

static void keep_first(int& first, int rc) {
  if (first == SQLITE_OK && rc != SQLITE_OK) first = rc;
}

Statement& Statement::bind(int index, int64_t value) {
  keep_first(bind_error_, sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, double value) {
  keep_first(bind_error_, sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  keep_first(bind_error_, sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                              SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const uint8_t> blob) {
  // A zero-length blob must stay a blob, not NULL: pass a non-null pointer.
  static const uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  keep_first(bind_error_, sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_STATIC));
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  return bind_blob(index, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

Statement& Statement::bind_null(int index) {
  keep_first(bind_error_, sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Statement::step() {
  if (bind_error_ != SQLITE_OK) {
    return Status(Code::kInternal, std::string("sqlite: bind: ") + sqlite3_errstr(bind_error_));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return status_for(rc, "step", sqlite3_errmsg(db_));
}

Status Statement::run() {
  for (;;) {
    auto r = step();
    if (!r.is_ok()) return r.status();
    if (!*r) return Status::ok();
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = SQLITE_OK;
}

Result<int64_t> Statement::first_int(int64_t if_empty) {
  auto row = step();
  const int64_t v = row.is_ok() && *row ? column_int(0) : if_empty;
  reset();
  if (!row.is_ok()) return row.status();
  return v;
}

Result<std::vector<int64_t>> Statement::all_ints() {
  std::vector<int64_t> out;
  for (;;) {
    auto row = step();
    if (!row.is_ok()) {
      reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back(column_int(0));
  }
  reset();
  return out;
}

int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }
bool Statement::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
bool Statement::column_is_blob(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_BLOB; }

std::string Statement::column_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::span<const uint8_t> Statement::column_blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::span<const uint8_t>() : std::span<const uint8_t>(p, static_cast<size_t>(n));
}

std::string Statement::column_blob_string(int col) const {
  const auto b = column_blob(col);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace edgefed::sqlite
