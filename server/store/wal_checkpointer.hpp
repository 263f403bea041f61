// Keeps the state database's write-ahead log short without stopping the
// writer thread for it. SQLite's automatic checkpoint runs inside the commit
// that fills the log (1,000 frames): it syncs the log, copies every frame to
// the database file and syncs that, ~20 ms at ingest rates, during which no
// update is committed or acknowledged (benchmarks/README.md, "Server ingest
// vs nginx"). Here a thread with its own connection does that copy (a
// PASSIVE checkpoint: it waits for no writer), and the writer only copies
// what was committed during it, so the log can start over.
//
//   after each commit, on the writer thread (the connection's WAL hook):
//     the background pass finished  -> a catch-up checkpoint of the frames
//                                      committed meanwhile (few), inline
//     log >= soft_frames            -> wake the background pass
//     log >= hard_frames            -> an inline checkpoint, as SQLite's own
//                                      (the background fell behind or fails)
//
// Crash safety is SQLite's: a checkpoint, from any connection, syncs the log
// before it copies and the database file before the log may start over.
//
// Thread safety: start() and the destructor on the writer's thread; the rest
// is internal. Ownership: the writer's Database must outlive this.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "edgefed/sqlite/database.hpp"
#include "edgefed/status.hpp"

namespace edgefed::server {

class WalCheckpointer {
 public:
  struct Options {
    int soft_frames = 1000;  // wake the background pass (SQLite's own threshold)
    int hard_frames = 8000;  // checkpoint inline: the background is behind
  };

  // Opens a second connection to `path` (same VFS as `writer`'s), installs
  // the hook on `writer` and starts the thread ("edgefed-ckpt"). kIo if the
  // connection cannot be opened.
  static Result<std::unique_ptr<WalCheckpointer>> start(sqlite::Database& writer, const std::string& path,
                                                        const sqlite::OpenOptions& open, Options options);
  static Result<std::unique_ptr<WalCheckpointer>> start(sqlite::Database& writer, const std::string& path,
                                                        const sqlite::OpenOptions& open) {
    return start(writer, path, open, Options{});
  }
  // Stops the thread after its current pass and restores the writer's
  // automatic checkpoint.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Counters (any thread), for tests and logs.
  int64_t background_passes() const { return background_passes_.load(); }
  int64_t catch_ups() const { return catch_ups_.load(); }
  int64_t inline_checkpoints() const { return inline_checkpoints_.load(); }

 private:
  WalCheckpointer(sqlite::Database& writer, std::unique_ptr<sqlite::Database> own, Options options);
  void on_commit(int log_frames);  // the writer's thread
  void loop();

  sqlite::Database& writer_;
  std::unique_ptr<sqlite::Database> own_;  // the background thread's connection
  const Options options_;
  std::atomic<bool> running_{false};   // a background pass is wanted or under way
  std::atomic<bool> finished_{false};  // one completed since the writer's last catch-up
  std::atomic<int64_t> background_passes_{0};
  std::atomic<int64_t> catch_ups_{0};
  std::atomic<int64_t> inline_checkpoints_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  bool wake_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace edgefed::server
