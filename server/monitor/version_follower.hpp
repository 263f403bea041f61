// Follows the engine's model versions on its own thread (off the I/O
// threads and the engine's writer): decodes each new version and hands it to
// the listeners in order. When versions come faster than the listeners run,
// intermediate ones are skipped: listeners see the newest version, and are
// told which version they saw before.
//
// Thread safety: start/stop from one controlling thread; listeners run on
// the follower thread only.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "edgefed/model_layout.hpp"
#include "server/engine/engine.hpp"

namespace edgefed::server::monitor {

class VersionFollower {
 public:
  using Listener = std::function<void(int64_t version, const Model& model)>;
  // REQUIRES: engine outlives the follower (call stop() first).
  VersionFollower(Engine& engine, std::vector<Listener> listeners);
  ~VersionFollower();  // stop()
  void start();
  void stop();

 private:
  void arm(int64_t after);
  void run();

  Engine& engine_;
  std::vector<Listener> listeners_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Engine::ModelSnapshot> pending_;
  uint64_t wait_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edgefed::server::monitor
