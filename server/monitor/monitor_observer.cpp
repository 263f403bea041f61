#include "server/monitor/monitor_observer.hpp"

#include "edgefed/update_codec.hpp"

namespace edgefed::server::monitor {

MonitorObserver::MonitorObserver(std::shared_ptr<OutlierMonitor> outliers, std::shared_ptr<FleetTelemetry> fleet,
                                 std::vector<Decorator> decorators)
    : outliers_(std::move(outliers)), fleet_(std::move(fleet)), decorators_(std::move(decorators)) {}

void MonitorObserver::on_version(int64_t, const Model& model) {
  std::vector<float> direction;
  if (previous_.size() == model.params.size()) {
    direction.resize(previous_.size());
    for (size_t i = 0; i < direction.size(); ++i) direction[i] = model.params[i] - previous_[i];
  }
  previous_ = model.params;
  if (outliers_) outliers_->set_direction(std::move(direction));
  std::lock_guard<std::mutex> lock(mu_);
  if (!layout_ || !(*layout_ == model.layout)) layout_ = std::make_shared<const ModelLayout>(model.layout);
}

void MonitorObserver::on_update(const std::string& agent_id, std::span<const float> delta, double norm2,
                                const UpdateAck&) {
  if (!outliers_) return;
  std::shared_ptr<const ModelLayout> layout;
  {
    std::lock_guard<std::mutex> lock(mu_);
    layout = layout_;
  }
  // A delta of another size was accepted against a layout replaced meanwhile:
  // nothing to compare it with.
  if (!layout || static_cast<int64_t>(delta.size()) != layout->size()) return;
  outliers_->observe(agent_id, delta, norm2);
}

void MonitorObserver::on_telemetry(const TelemetryBatch& batch) {
  if (fleet_) fleet_->observe(batch);
}

void MonitorObserver::decorate(ServerStatus& status) const {
  if (outliers_) {
    for (auto& a : status.agent_list) a.outlier_score = outliers_->score(a.agent_id);
  }
  for (const auto& d : decorators_) d(status);
}

}  // namespace edgefed::server::monitor
