#include "server/engine/commit_syncer.hpp"

#include <pthread.h>

#include <utility>
#include <vector>

#include "edgefed/log.hpp"

namespace edgefed::server {

CommitSyncer::CommitSyncer(std::function<Status()> sync) : sync_(std::move(sync)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "edgefed-fsync");
    loop();
  });
}

CommitSyncer::~CommitSyncer() { stop(); }

void CommitSyncer::submit(Completion done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(done));
  }
  cv_.notify_one();
}

void CommitSyncer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

Status CommitSyncer::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void CommitSyncer::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, and everything completed
    // Every batch queued now was committed before this fsync starts: one
    // fsync covers them all (the group commit's second grouping).
    std::vector<Completion> batch(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    Status st = failure_;
    lock.unlock();
    if (st.is_ok()) {
      st = sync_();
      if (!st.is_ok()) {
        log::error("wal_sync_failed")
            .kv("error", st.to_string())
            .kv("batches", batch.size())
            .kv("action", "refusing every write until the server restarts");
        st = Status(Code::kUnavailable, "the state database could not be made durable (" + st.message() +
                                            "); the server refuses writes until it restarts");
        std::lock_guard<std::mutex> failed(mu_);
        failure_ = st;
        failed_ = true;  // before the calls are answered: no later job is taken
      }
    }
    for (auto& done : batch) done(st);
    lock.lock();
  }
}

}  // namespace edgefed::server
