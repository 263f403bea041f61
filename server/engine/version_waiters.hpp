// Long-poll waiters: callbacks to run once when a model version newer than
// some number exists. Thread-safe.
// Guarantee that makes cancel() usable from a session's destructor: when
// cancel(id) returns, that callback is not running and will never run
// (unless cancel is called from inside that very callback).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "server/engine/model_snapshot.hpp"

namespace edgefed::server {

class VersionWaiters {
 public:
  using Callback = std::function<void(ModelSnapshot)>;

  // Runs cb now (on this thread) if current.version > after; else keeps it
  // until publish() of a newer version. Returns an id for cancel().
  uint64_t add(int64_t after, Callback cb, const ModelSnapshot& current);
  void cancel(uint64_t id);
  // Runs (on this thread) and removes every callback waiting for a version
  // below snapshot.version.
  void publish(const ModelSnapshot& snapshot);
  // Drops every pending callback without running it.
  void clear();
  size_t pending() const;

 private:
  struct Waiter {
    int64_t after;
    Callback cb;
  };
  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  std::map<uint64_t, Waiter> waiters_;
  std::map<uint64_t, std::thread::id> running_;  // id -> thread running it
  uint64_t next_id_ = 1;
};

}  // namespace edgefed::server
