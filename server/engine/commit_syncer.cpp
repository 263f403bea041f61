#include "server/engine/commit_syncer.hpp"

#include <pthread.h>

#include <chrono>
#include <utility>
#include <vector>

#include "edgefed/log.hpp"

namespace edgefed::server {

CommitSyncer::CommitSyncer(std::function<Status()> sync, Observer observe)
    : sync_(std::move(sync)), observe_(std::move(observe)) {
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
      const auto t0 = std::chrono::steady_clock::now();
      st = sync_();
      if (observe_) {
        observe_(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), batch.size(),
                 st.is_ok());
      }
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
