#include "server/engine/version_waiters.hpp"

#include <vector>

namespace edgefed::server {

uint64_t VersionWaiters::add(int64_t after, Callback cb, const ModelSnapshot& current) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    if (current.version <= after) {
      waiters_.emplace(id, Waiter{after, std::move(cb)});
      return id;
    }
  }
  cb(current);  // nobody else knows this id yet: no race with cancel
  return id;
}

void VersionWaiters::cancel(uint64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  waiters_.erase(id);
  auto it = running_.find(id);
  if (it != running_.end() && it->second == std::this_thread::get_id()) {
    // Cancelled from a callback of the same publish(): skip it if it has not
    // run yet (publish checks running_ before each call).
    running_.erase(it);
    return;
  }
  // If publish() is running it right now on another thread, wait for it.
  done_cv_.wait(lock, [&] { return running_.find(id) == running_.end(); });
}

void VersionWaiters::publish(const ModelSnapshot& snapshot) {
  std::vector<std::pair<uint64_t, Callback>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.after < snapshot.version) {
        ready.emplace_back(it->first, std::move(it->second.cb));
        running_.emplace(it->first, std::this_thread::get_id());
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [id, cb] : ready) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (running_.find(id) == running_.end()) continue;  // cancelled meanwhile
    }
    cb(snapshot);
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(id);
    done_cv_.notify_all();
  }
}

void VersionWaiters::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  waiters_.clear();
}

size_t VersionWaiters::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

}  // namespace edgefed::server
