#include "agent/outbox/sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace edgefed::agent {
namespace {

Status sqlite_error(sqlite3* db, std::string_view what) {
  return Status(Code::kIo, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

SqliteStmt::~SqliteStmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}
SqliteStmt::SqliteStmt(SqliteStmt&& o) noexcept : stmt_(o.stmt_), db_(o.db_) { o.stmt_ = nullptr; }
SqliteStmt& SqliteStmt::operator=(SqliteStmt&& o) noexcept {
  if (this != &o) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    db_ = o.db_;
    o.stmt_ = nullptr;
  }
  return *this;
}

SqliteStmt& SqliteStmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
SqliteStmt& SqliteStmt::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? "" : bytes.data(), bytes.size(),
                      SQLITE_TRANSIENT);
  return *this;
}

Result<bool> SqliteStmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, "sqlite step");
}

Status SqliteStmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.status();
    if (!*r) return Status::ok();
  }
}

int64_t SqliteStmt::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
double SqliteStmt::column_double(int index) const { return sqlite3_column_double(stmt_, index); }
std::string SqliteStmt::column_text(int index) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  const int n = sqlite3_column_bytes(stmt_, index);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}
std::string SqliteStmt::column_blob(int index) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, index));
  const int n = sqlite3_column_bytes(stmt_, index);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path) {
  // Create the file ourselves so it is 0600 from the first byte; SQLite gives
  // its -wal and -shm files the same mode as the database file.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kIo, "cannot create " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = sqlite_error(db, "cannot open " + path);
    sqlite3_close(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Status SqliteDb::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Status st(Code::kIo, std::string("sqlite: ") + (err ? err : "error"));
    sqlite3_free(err);
    return st;
  }
  return Status::ok();
}

Result<SqliteStmt> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK)
    return sqlite_error(db_, "sqlite prepare");
  return SqliteStmt(stmt, db_);
}

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

Result<int64_t> SqliteDb::query_int(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.status();
  auto row = stmt->step();
  if (!row) return row.status();
  return *row ? stmt->column_int(0) : int64_t{0};
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db), begin_(db.exec("BEGIN IMMEDIATE")) {}

SqliteTransaction::~SqliteTransaction() {
  if (begin_.is_ok() && !done_) (void)db_.exec("ROLLBACK");
}

Status SqliteTransaction::commit() {
  EDGEFED_RETURN_IF_ERROR(begin_);
  Status st = db_.exec("COMMIT");
  if (st.is_ok()) done_ = true;
  return st;
}

}  // namespace edgefed::agent
