// The second half of the pipelined group commit (EngineOptions::
// fsync_pipeline): the writer thread commits a batch without fsync
// (StateStore::defers_sync) and hands its completion here; this thread
// fsyncs the WAL, one fsync for every batch committed before it, then runs
// the completions in commit order (publish the batch's state, answer its
// calls). Meanwhile the writer runs the next batch: the disk's latency no
// longer stalls it, and a call is still answered only once it is durable.
//
// A failed fsync cannot be rolled back: the transactions are committed, and
// the kernel may already have dropped the pages it failed to write (a second
// fsync can succeed without them). So, as PostgreSQL does, the syncer fails
// that batch and every later one and stays failed: the server must restart
// and recover from what is on disk; calls failed here were never
// acknowledged, and their retries are recognised by update_id.
//
// Thread safety: submit(), failed() and failure() from any thread; stop()
// from one (the writer's owner), after the last submit().
#pragma once

#include <atomic>
#include <cstddef>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "edgefed/status.hpp"

namespace edgefed::server {

class CommitSyncer {
 public:
  // Runs with ok once the batch is durable, or with the fsync's failure.
  using Completion = std::function<void(const Status&)>;

  // After each fsync: how long it took, how many batches it covered, and
  // whether it worked (metrics).
  using Observer = std::function<void(double seconds, size_t batches, bool ok)>;

  // `sync` makes every commit before it durable (StateStore::sync_committed);
  // it must stay callable until stop() returns. `observe` may be empty.
  // Starts the thread.
  explicit CommitSyncer(std::function<Status()> sync, Observer observe = {});
  ~CommitSyncer();  // calls stop()
  CommitSyncer(const CommitSyncer&) = delete;
  CommitSyncer& operator=(const CommitSyncer&) = delete;

  // Queues the completion of a batch whose commit just returned.
  void submit(Completion done);
  // Runs every queued completion, then joins the thread. Idempotent.
  void stop();
  // True once an fsync failed (for good).
  bool failed() const { return failed_.load(); }
  // The failure every later completion gets; ok while !failed().
  Status failure() const;

 private:
  void loop();

  std::function<Status()> sync_;
  Observer observe_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Completion> queue_;
  bool stopping_ = false;
  Status failure_;  // guarded by mu_
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

}  // namespace edgefed::server
