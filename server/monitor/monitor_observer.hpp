// The engine observer the server installs (Engine::set_observer): feeds
// accepted updates to the OutlierMonitor (decoding the body again against
// the newest layout: cheap next to the merge), telemetry to FleetTelemetry,
// and decorates /v1/status with outlier scores and whatever extra
// decorators (server/eval) were added. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "edgefed/model_layout.hpp"
#include "server/engine/engine_observer.hpp"
#include "server/monitor/fleet_telemetry.hpp"
#include "server/monitor/outlier_monitor.hpp"

namespace edgefed::server::monitor {

class MonitorObserver : public EngineObserver {
 public:
  using Decorator = std::function<void(ServerStatus&)>;
  MonitorObserver(std::shared_ptr<OutlierMonitor> outliers, std::shared_ptr<FleetTelemetry> fleet,
                  std::vector<Decorator> decorators);

  // A new version (VersionFollower listener): the layout updates are decoded
  // against, and the merged direction params(v) - params(previous).
  void on_version(int64_t version, const Model& model);

  void on_update(const std::string& agent_id, std::span<const float> delta, double norm2,
                 const UpdateAck& ack) override;
  void on_telemetry(const TelemetryBatch& batch) override;
  void decorate(ServerStatus& status) const override;

 private:
  std::shared_ptr<OutlierMonitor> outliers_;
  std::shared_ptr<FleetTelemetry> fleet_;
  std::vector<Decorator> decorators_;
  mutable std::mutex mu_;
  std::shared_ptr<const ModelLayout> layout_;
  std::vector<float> previous_;  // follower thread only
};

}  // namespace edgefed::server::monitor
