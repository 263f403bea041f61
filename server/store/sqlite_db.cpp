#include "server/store/sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace edgefed::server {

namespace {

Status io_error(sqlite3* db, const std::string& what) {
  return Status(Code::kIo, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "sqlite"));
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, bool fsync_full) {
  // Create the file ourselves so it is 0600 whatever the umask says; SQLite
  // then creates -wal/-shm with the same mode.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Result<std::unique_ptr<SqliteDb>>(Code::kIo, "open " + path + ": " + std::strerror(errno));
  }
  const bool chmod_ok = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!chmod_ok) return Result<std::unique_ptr<SqliteDb>>(Code::kIo, "chmod 0600 " + path);

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, path));
  if (rc != SQLITE_OK) return io_error(raw, "sqlite open " + path);
  sqlite3_busy_timeout(raw, 5000);
  // Big pages: an update body (hundreds of KB) and a checkpoint are blobs,
  // stored as chains of overflow pages that SQLite writes, and frees on
  // merge, one page per system call. 64 KiB pages cut those calls 16x
  // compared with the 4 KiB default. Only effective on a new file, so set it
  // before WAL creates anything.
  EDGEFED_RETURN_IF_ERROR(db->exec("PRAGMA page_size=65536"));
  // journal_mode returns a row; read it to make sure WAL took effect.
  auto mode = db->prepare("PRAGMA journal_mode=WAL");
  if (!mode.is_ok()) return mode.status();
  auto row = mode->step();
  if (!row.is_ok()) return row.status();
  if (!*row || mode->column_text(0) != "wal") {
    return Result<std::unique_ptr<SqliteDb>>(Code::kIo, "sqlite: WAL mode not available for " + path);
  }
  mode = Statement();
  EDGEFED_RETURN_IF_ERROR(db->exec(std::string("PRAGMA foreign_keys=ON;") +
                                   (fsync_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;")));
  // Ingest profile (benchmarks/ingest): every update payload is freed again
  // when its version commits. Debian builds SQLite with SECURE_DELETE, which
  // zero-fills each freed page and writes it to the WAL: a second full write
  // of every body. The pages are reused for the next bodies anyway, and the
  // file is 0600, so skip the zeroing. A 32 MiB page cache (default 2 MB =
  // 31 pages of 64 KiB) keeps a buffer's overflow chains in memory, so
  // freeing them does not read them back from the WAL.
  EDGEFED_RETURN_IF_ERROR(db->exec("PRAGMA secure_delete=OFF; PRAGMA cache_size=-32768;"));
  return db;
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // finalize statements before closing
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status SqliteDb::exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status(Code::kIo, "sqlite: " + msg);
}

Result<Statement> SqliteDb::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt, nullptr);
  if (rc != SQLITE_OK) return io_error(db_, "sqlite prepare '" + sql + "'");
  return Statement(db_, stmt);
}

Result<Statement*> SqliteDb::cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = prepare(sql);
    if (!st.is_ok()) return st.status();
    it = cache_.emplace(sql, std::move(st).value()).first;
  }
  it->second.reset();
  return &it->second;
}

Status SqliteDb::begin() { return exec("BEGIN IMMEDIATE"); }
Status SqliteDb::commit() { return exec("COMMIT"); }

void SqliteDb::rollback() {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteDb::set_max_bytes(int64_t max_bytes) {
  if (max_bytes <= 0) return Status::ok();
  auto st = prepare("PRAGMA page_size");
  if (!st.is_ok()) return st.status();
  auto row = st->step();
  if (!row.is_ok()) return row.status();
  const int64_t page = *row ? st->column_int(0) : 4096;
  return exec("PRAGMA max_page_count=" + std::to_string(std::max<int64_t>(1, max_bytes / page)));
}

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

}  // namespace edgefed::server
