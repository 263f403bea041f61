#include "server/store/store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "edgefed/log.hpp"
#include "server/store/schema.hpp"

namespace edgefed::server {

std::string Store::database_path(const std::string& state_dir) { return state_dir + "/edgefed.sqlite"; }
std::string Store::spool_path(const std::string& state_dir) { return state_dir + "/edgefed.spool"; }

Result<std::unique_ptr<Store>> Store::open(const std::string& state_dir, const StoreOptions& options) {
  if (state_dir.empty()) return Status(Code::kInvalidArgument, "state_dir is empty");
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(Code::kIo, "mkdir " + state_dir + ": " + std::strerror(errno));
  }
  auto db = sqlite::Database::open(database_path(state_dir), {.vfs = options.vfs});
  if (!db.is_ok()) return db.status();
  sqlite::Database& d = **db;
  // Big pages: an update body (hundreds of KB) and a checkpoint are blobs,
  // stored as chains of overflow pages that SQLite writes, and frees on
  // merge, one page per system call. 64 KiB pages cut those calls 16x
  // compared with the 4 KiB default. With the update spool the bodies are
  // not in the database, and every small row a batch inserts or updates
  // (ledger, its indexes, agents) still rewrites whole pages into the WAL
  // and again at the checkpoint: 16 KiB pages there cut what the server
  // writes per 408 KB update from 813 to 542 KB (benchmarks/README.md,
  // "Server ingest vs nginx"), and a checkpoint is still 4x fewer pages
  // than at 4 KiB. Only effective on a new file, so set it before WAL
  // creates anything; an existing file keeps its page size.
  EDGEFED_RETURN_IF_ERROR(d.exec(options.spool_bytes > 0 ? "PRAGMA page_size=16384" : "PRAGMA page_size=65536"));
  EDGEFED_RETURN_IF_ERROR(d.enable_wal());
  const bool defer_sync = options.fsync_full && options.defer_sync;
  EDGEFED_RETURN_IF_ERROR(
      d.exec(std::string("PRAGMA foreign_keys=ON;") +
             (options.fsync_full && !defer_sync ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;")));
  // Ingest profile (benchmarks/ingest): every update payload is freed again
  // when its version commits. Debian builds SQLite with SECURE_DELETE, which
  // zero-fills each freed page and writes it to the WAL: a second full write
  // of every body. The pages are reused for the next bodies anyway, and the
  // file is 0600, so skip the zeroing. A 32 MiB page cache (default 2 MB =
  // 31 pages of 64 KiB) keeps a buffer's overflow chains in memory, so
  // freeing them does not read them back from the WAL. Statement journals
  // (a merge's multi-row statements) stay in memory: on disk each was a new
  // temporary file, created, written and deleted about once per update.
  EDGEFED_RETURN_IF_ERROR(d.exec("PRAGMA secure_delete=OFF; PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;"));
  EDGEFED_RETURN_IF_ERROR(ensure_schema(d));
  EDGEFED_RETURN_IF_ERROR(d.set_max_bytes(options.max_bytes));
  // The schema's statements opened the log; its handle is what
  // sync_committed() fsyncs.
  if (defer_sync) EDGEFED_RETURN_IF_ERROR(d.prepare_wal_sync());
  auto spool = open_spool(d, state_dir, options);
  if (!spool.is_ok()) return spool.status();
  std::unique_ptr<Store> store(new Store(std::move(db).value(), options.fsync_full, defer_sync,
                                         std::move(spool).value(), options.spool_bytes > 0));
  if (options.vfs.empty()) {
    auto c = WalCheckpointer::start(*store->db_, database_path(state_dir), {.vfs = options.vfs});
    if (c.is_ok()) store->checkpointer_ = std::move(c).value();
    else log::warn("wal_checkpointer_off").kv("error", c.status().to_string()).kv("reason", "checkpoints run inline");
  }
  return store;
}

Store::~Store() = default;

Result<std::shared_ptr<UpdateSpool>> Store::open_spool(sqlite::Database& d, const std::string& state_dir,
                                                       const StoreOptions& options) {
  // The bodies still pending stay where they are: their place in the file
  // is their offset modulo the size they were written with (meta
  // spool_capacity), so a new size applies only once none is left.
  auto pending = d.prepare(
      "SELECT spool_offset, spool_length FROM ledger WHERE consumed_by_version IS NULL AND spool_offset IS NOT NULL");
  if (!pending.is_ok()) return pending.status();
  std::vector<SpoolExtent> extents;
  for (;;) {
    auto row = pending->step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    extents.push_back({pending->column_int(0), pending->column_int(1)});
  }
  // Turned off (--spool-mb 0) with bodies still in it: opened to read them
  // until they are merged, and no new ones are written (Store::spool()).
  if (options.spool_bytes <= 0 && extents.empty()) return std::shared_ptr<UpdateSpool>();
  int64_t capacity = options.spool_bytes;
  auto stored = d.query_int("SELECT value FROM meta WHERE key = 'spool_capacity'");  // 0 when unset
  if (!stored.is_ok()) return stored.status();
  const int64_t was = *stored;
  if (!extents.empty() && was > 0 && was != capacity && options.spool_bytes > 0) {
    log::warn("spool_size_kept").kv("configured_bytes", capacity).kv("kept_bytes", was)
        .kv("pending_bodies", static_cast<int64_t>(extents.size()))
        .kv("reason", "the spool holds pending bodies; the new size applies at a start without any");
  }
  if (!extents.empty() && was > 0) capacity = was;
  if (capacity <= 0) {
    return Status(Code::kIo, "the ledger names update spool bodies but the database has no spool size");
  }
  if (capacity != was) {
    EDGEFED_RETURN_IF_ERROR(d.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('spool_capacity', '" +
                                   std::to_string(capacity) + "')"));
  }
  auto file = options.spool_file ? options.spool_file(spool_path(state_dir)) : posix_spool_file(spool_path(state_dir));
  if (!file.is_ok()) return file.status();
  auto spool = std::make_shared<UpdateSpool>(std::move(file).value(), capacity);
  for (const SpoolExtent& e : extents) spool->adopt(e);
  // Past every offset an earlier run can have written (< 1 GiB per second
  // since it started): a record it left is never read as a new one.
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  spool->start_at_least(static_cast<int64_t>(now_s) << 30);
  return spool;
}

Status Store::commit() {
  // Bodies first: the row that names one must not reach the disk before it.
  if (spool_ && fsync_full_ && !defer_sync_) {
    // kUnavailable like a failed fsync of the database: the caller rolls
    // back and the calls may be retried.
    if (Status st = spool_->sync(); !st.is_ok()) return Status(Code::kUnavailable, st.message());
  }
  EDGEFED_RETURN_IF_ERROR(db_->commit());
  if (!txn_released_.empty()) {
    if (defer_sync_) {
      std::lock_guard<std::mutex> lock(unsynced_mu_);
      unsynced_released_.insert(unsynced_released_.end(), txn_released_.begin(), txn_released_.end());
    } else if (spool_) {
      // Durable now (or, without fsync_full, as safe as the commit).
      spool_->release(txn_released_);
    }
    txn_released_.clear();
  }
  return Status::ok();
}

void Store::rollback() {
  txn_released_.clear();
  db_->rollback();
}

Status Store::sync_committed() {
  if (!defer_sync_) return Status::ok();
  if (!spool_) return db_->sync_wal();
  // Only what committed before this fsync starts is covered by it.
  std::vector<int64_t> covered;
  {
    std::lock_guard<std::mutex> lock(unsynced_mu_);
    covered.swap(unsynced_released_);
  }
  // The two files at once: each fsync is mostly waiting for the disk.
  spool_sync_->start();
  Status wal = db_->sync_wal();
  Status st = spool_sync_->wait();
  if (!st.is_ok()) st = Status(Code::kUnavailable, st.message());
  else st = wal;
  // On failure the freed bodies stay pinned: the store writes nothing more
  // before a restart (StateStore::sync_committed).
  if (!st.is_ok()) return st;
  spool_->release(covered);
  return Status::ok();
}

}  // namespace edgefed::server
