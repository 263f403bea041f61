// UpdateSpool: where the SQLite store keeps the bodies of accepted updates
// until they are merged, instead of in the ledger's payload column. One
// ring file, <state_dir>/edgefed.spool (FORMAT.md), of at most `capacity`
// bytes. Why: a 400 KB body written by SQLite is copied into pages,
// checksummed into the WAL and checkpointed, all on the one writer thread
// every update goes through (benchmarks/README.md, "Server ingest vs
// nginx"). Here the connection's own worker thread writes its body with one
// pwrite, in parallel with the others, before it queues the update; the
// ledger row names the body by its extent (logical offset and length).
//
// Durability: sync() fdatasyncs the file. The store calls it before (or,
// pipelined, alongside) the fsync of the commit whose rows name the bodies,
// so an acknowledged update's body is on disk. A row whose body did not
// reach the disk (a crash before that fsync: never acknowledged) is found
// by read() (record header) and by the ledger's digest of the body.
//
// Space: offsets are logical and grow forever; the physical position is
// offset mod capacity. An extent is live from append() until release():
// the store releases a merged body only once the commit that marked it
// merged is durable, and the engine releases a body that was never stored
// (refused, duplicate, failed). append() refuses (kResourceExhausted) when
// the body would overwrite a live extent (kUnavailable): the caller keeps
// the body in the database instead, as without a spool.
//
// Thread safety: every method may be called from any thread; writes and
// reads of different extents run in parallel. Errors: kIo from the file;
// kNotFound from read() when the extent does not hold the record it names;
// kUnavailable from append() when the ring is full.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"
#include "server/store/records.hpp"

namespace edgefed::server {

// The file operations the spool makes: the seam for storage fault tests.
// posix_spool_file() is the real one.
class SpoolFile {
 public:
  virtual ~SpoolFile() = default;
  // Writes head then body at offset (one pwritev); kIo on failure.
  virtual Status write(int64_t offset, std::span<const uint8_t> head, std::span<const uint8_t> body) = 0;
  // Reads exactly out.size() bytes at offset; kIo on failure or short read.
  virtual Status read(int64_t offset, std::span<uint8_t> out) = 0;
  virtual Status sync() = 0;
};
// Opens (creates, mode 0600) path. kIo on failure.
Result<std::unique_ptr<SpoolFile>> posix_spool_file(const std::string& path);

class UpdateSpool {
 public:
  static constexpr int64_t kHeaderBytes = 32;

  // capacity: the ring's size in bytes (> 2 x the largest body to be useful).
  UpdateSpool(std::unique_ptr<SpoolFile> file, int64_t capacity);

  // Stores body; returns its extent (live until release()).
  // kUnavailable if the ring has no room; kIo if the write failed (nothing
  // is live then).
  Result<SpoolExtent> append(std::span<const uint8_t> body);
  // The body of a live or adopted extent. kNotFound if the file does not
  // hold that record there (never written, torn, overwritten); kIo on a
  // read error.
  Result<std::vector<uint8_t>> read(const SpoolExtent& e);
  // Marks an extent live again after a restart (the ledger's pending rows).
  void adopt(const SpoolExtent& e);
  // Without live extents: new records start at the first lap at or after
  // `offset`. A restart begins past every offset a previous run can have
  // used, so a record left by it is not taken for a new one at the same
  // place (with pending bodies adopted it starts right after them; the
  // ledger's digest of each body, checked by the engine, covers that case).
  void start_at_least(int64_t offset);
  // The extent at `offset` is free for reuse. Unknown offsets are ignored.
  void release(int64_t offset);
  void release(std::span<const int64_t> offsets);
  // fdatasync: every body appended before the call is on disk.
  Status sync();

  int64_t capacity() const { return capacity_; }
  // Bytes between the oldest live extent and the head (what is pinned).
  int64_t used_bytes() const;
  int64_t live_extents() const;

 private:
  std::unique_ptr<SpoolFile> file_;
  const int64_t capacity_;
  // Appends whose write completed, and how many of them the last
  // successful sync() covered: a sync with nothing new skips the fdatasync.
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> synced_{0};
  mutable std::mutex mu_;
  int64_t head_ = 0;                 // next logical offset
  std::map<int64_t, int64_t> live_;  // logical offset -> record bytes
};

}  // namespace edgefed::server
