#include "server/store/store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "server/store/schema.hpp"

namespace edgefed::server {

std::string Store::database_path(const std::string& state_dir) { return state_dir + "/edgefed.sqlite"; }

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
  // compared with the 4 KiB default. Only effective on a new file, so set it
  // before WAL creates anything.
  EDGEFED_RETURN_IF_ERROR(d.exec("PRAGMA page_size=65536"));
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
  // freeing them does not read them back from the WAL.
  EDGEFED_RETURN_IF_ERROR(d.exec("PRAGMA secure_delete=OFF; PRAGMA cache_size=-32768;"));
  EDGEFED_RETURN_IF_ERROR(ensure_schema(d));
  EDGEFED_RETURN_IF_ERROR(d.set_max_bytes(options.max_bytes));
  // The schema's statements opened the log; its handle is what
  // sync_committed() fsyncs.
  if (defer_sync) EDGEFED_RETURN_IF_ERROR(d.prepare_wal_sync());
  return std::unique_ptr<Store>(new Store(std::move(db).value(), defer_sync));
}

}  // namespace edgefed::server
