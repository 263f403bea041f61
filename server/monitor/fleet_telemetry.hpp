// Agent telemetry summarised into fleet metrics, one series per agent only
// for drift (like edgefed_agent_outlier_score: operators need the device):
//   edgefed_fleet_train_loss, edgefed_fleet_samples_per_second,
//   edgefed_fleet_cpu_temperature_celsius, edgefed_fleet_outbox_updates
//     (histograms of the values agents report in train/system records),
//   edgefed_fleet_telemetry_records_total{kind} (train, link, system,
//     dropped, other),
//   edgefed_fleet_link_state{state} (agents by the link state they last
//     reported: online, offline, unknown; at scrape time),
//   edgefed_agent_drift_score{agent} (the drift score each agent last
//     reported in a `drift` record; agent/serve/drift_monitor.hpp).
// observe() counts every record it is given: give it only the records the
// store has just stored (EngineObserver::on_telemetry), so that a batch resent
// after a lost ack, even across a server restart, is counted once. The store
// is the one place that decides whether a record is new; this class keeps no
// seq of its own. Every series exists (at 0) from construction.
// Thread-safe (one mutex).
#pragma once

#include <prometheus/collectable.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "edgefed/protocol.hpp"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
}  // namespace prometheus

namespace edgefed::server::monitor {

class FleetTelemetry : public prometheus::Collectable {
 public:
  explicit FleetTelemetry(std::shared_ptr<prometheus::Registry> registry);
  // Records of one agent, each counted once per call.
  void observe(const TelemetryBatch& stored);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* loss_;
  prometheus::Histogram* speed_;
  prometheus::Histogram* temperature_;
  prometheus::Histogram* outbox_;
  std::map<std::string, prometheus::Counter*> kinds_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> link_states_;  // agent -> the link state it last reported
  std::map<std::string, double> drift_;  // agent -> the drift score it last reported
};

}  // namespace edgefed::server::monitor
