#include "edgefed/sqlite/database.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "edgefed/sqlite/error.hpp"

namespace edgefed::sqlite {

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const OpenOptions& options) {
  const char* vfs = options.vfs.empty() ? nullptr : options.vfs.c_str();
  if (vfs != nullptr && sqlite3_vfs_find(vfs) == nullptr) {
    return Status(Code::kInvalidArgument, "sqlite: no VFS named '" + options.vfs + "'");
  }
  if (!options.read_only) {
    // Create the file ourselves so it is 0600 from the first byte whatever
    // the umask says; SQLite then creates -wal/-shm with the same mode.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status(Code::kIo, "cannot create " + path + ": " + std::strerror(errno));
    const bool chmod_ok = ::fchmod(fd, 0600) == 0;
    ::close(fd);
    if (!chmod_ok) return Status(Code::kIo, "cannot chmod 0600 " + path + ": " + std::strerror(errno));
  }
  sqlite3* raw = nullptr;
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  // Owned from here on, also on failure (sqlite3_open_v2 may allocate it).
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) {
    // Cannot open at all: the file is the problem, whatever the code says.
    Status st = status_for(rc, "open " + path, raw != nullptr ? sqlite3_errmsg(raw) : "out of memory");
    return Status(Code::kIo, st.message());
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  return db;
}

Database::~Database() {
  cache_.clear();  // finalize statements before closing
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  const std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  return status_for(rc, "exec", msg);
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &stmt, nullptr);
  if (rc != SQLITE_OK) return status_for(rc, "prepare '" + std::string(sql) + "'", sqlite3_errmsg(db_));
  return Statement(db_, stmt);
}

Result<Statement*> Database::cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return status_for(rc, "prepare '" + sql + "'", sqlite3_errmsg(db_));
    it = cache_.emplace(sql, Statement(db_, stmt)).first;
  }
  it->second.reset();
  return &it->second;
}

Result<int64_t> Database::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st.is_ok()) return st.status();
  auto row = st->step();
  if (!row.is_ok()) return row.status();
  return *row ? st->column_int(0) : int64_t{0};
}

Status Database::enable_wal() {
  // journal_mode returns a row: read it to make sure WAL took effect.
  auto mode = prepare("PRAGMA journal_mode=WAL");
  if (!mode.is_ok()) return mode.status();
  auto row = mode->step();
  if (!row.is_ok()) return row.status();
  if (!*row || mode->column_text(0) != "wal") {
    return Status(Code::kIo, "sqlite: WAL mode not available for " + path_);
  }
  return Status::ok();
}

Status Database::prepare_wal_sync() {
  sqlite3_file* wal = nullptr;
  const int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc != SQLITE_OK) return status_for(rc, "find the write-ahead log of " + path_, sqlite3_errmsg(db_));
  // Before the log is opened (or outside WAL mode, which the caller set up)
  // the pointer is a journal file never opened: no methods.
  if (wal == nullptr || wal->pMethods == nullptr) {
    return Status(Code::kInternal, "sqlite: the write-ahead log of " + path_ + " is not open");
  }
  wal_file_ = wal;
  return sync_wal();
}

Status Database::sync_wal() {
  auto* wal = static_cast<sqlite3_file*>(wal_file_);
  if (wal == nullptr) return Status(Code::kInternal, "sqlite: sync_wal before prepare_wal_sync");
  const int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  if (rc == SQLITE_OK) return Status::ok();
  return status_for(rc, "fsync the write-ahead log of " + path_, "");
}

Result<Database::WalProgress> Database::checkpoint() {
  WalProgress p;
  const int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, &p.log_frames, &p.copied_frames);
  if (rc == SQLITE_OK) return p;
  return status_for(rc, "checkpoint the write-ahead log of " + path_, sqlite3_errmsg(db_));
}

void Database::set_wal_hook(std::function<void(int)> hook) {
  wal_hook_ = std::move(hook);
  if (!wal_hook_) {
    sqlite3_wal_autocheckpoint(db_, 1000);  // SQLite's default
    return;
  }
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<Database*>(self)->wal_hook_(frames);
        return SQLITE_OK;  // the commit succeeded whatever the hook did
      },
      this);
}

Status Database::set_max_bytes(int64_t max_bytes) {
  if (max_bytes <= 0) return Status::ok();
  auto page = query_int("PRAGMA page_size");
  if (!page.is_ok()) return page.status();
  const int64_t page_size = *page > 0 ? *page : 4096;
  return exec("PRAGMA max_page_count=" + std::to_string(std::max<int64_t>(1, max_bytes / page_size)));
}

Status Database::begin() { return exec("BEGIN IMMEDIATE"); }
Status Database::commit() { return exec("COMMIT"); }

void Database::rollback() {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

bool Database::in_transaction() const { return !sqlite3_get_autocommit(db_); }

int64_t Database::changes() const { return sqlite3_changes64(db_); }

}  // namespace edgefed::sqlite
