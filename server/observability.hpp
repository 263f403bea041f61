// The server's observability beyond the engine's own metrics: its
// configuration (flags --eval-data, --outlier-*, --quarantine-after in
// server_options.cpp) and the objects that run while the server serves: process collector,
// fleet telemetry, outlier monitor (auto-quarantine), held-out evaluation
// and the version follower that feeds the last two. main() owns one.
#pragma once

#include <memory>

#include <prometheus/registry.h>

#include "server/engine/engine.hpp"
#include "server/eval/version_evaluator.hpp"
#include "server/http/http_options.hpp"
#include "server/monitor/outlier_monitor.hpp"

namespace edgefed::server {

struct ObservabilityConfig {
  eval::EvalOptions eval;  // data_dir "" = no held-out evaluation
  monitor::OutlierOptions outliers;
};

class Observability {
 public:
  // Loads the held-out set (throws ConfigError when it cannot), installs the
  // engine observer and adds the scrape-time collectors to `http`.
  // REQUIRES: engine outlives this object; call before Server::start.
  Observability(const ObservabilityConfig& config, Engine& engine, std::shared_ptr<prometheus::Registry> registry,
                http::HttpOptions& http);
  ~Observability();  // stop()
  // Stops following versions (before the engine shuts down).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgefed::server
