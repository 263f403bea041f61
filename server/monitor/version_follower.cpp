#include "server/monitor/version_follower.hpp"

#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"

namespace edgefed::server::monitor {

VersionFollower::VersionFollower(Engine& engine, std::vector<Listener> listeners)
    : engine_(engine), listeners_(std::move(listeners)) {}

VersionFollower::~VersionFollower() { stop(); }

void VersionFollower::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = engine_.current_model();
  }
  thread_ = std::thread([this] { run(); });
}

void VersionFollower::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // After the join nothing arms again; cancel() returns once the callback
  // cannot run any more.
  if (wait_id_ != 0) engine_.cancel(wait_id_);
  wait_id_ = 0;
}

void VersionFollower::arm(int64_t after) {
  // The callback may run right here, on this thread: it only stores the
  // snapshot and wakes the loop, never blocks.
  const uint64_t id = engine_.on_version_after(after, [this](Engine::ModelSnapshot snap) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = std::move(snap);
    }
    cv_.notify_all();
  });
  std::lock_guard<std::mutex> lock(mu_);
  wait_id_ = id;
}

void VersionFollower::run() {
  for (;;) {
    Engine::ModelSnapshot snap;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || pending_.has_value(); });
      if (stopping_) return;
      snap = std::move(*pending_);
      pending_.reset();
    }
    if (snap.bytes) {
      const auto* data = reinterpret_cast<const uint8_t*>(snap.bytes->data());
      auto decoded = decode_model({data, snap.bytes->size()});
      if (decoded.is_ok()) {
        for (const auto& l : listeners_) l(snap.version, decoded->model);
      } else {
        log::warn("version_decode_failed").kv("version", snap.version).kv("error", decoded.status().to_string());
      }
    }
    arm(snap.version);
  }
}

}  // namespace edgefed::server::monitor
