// Agent telemetry summarised into fleet metrics, never one series per agent:
//   edgefed_fleet_train_loss, edgefed_fleet_samples_per_second,
//   edgefed_fleet_cpu_temperature_celsius, edgefed_fleet_outbox_updates
//     (histograms of the values agents report in train/system records),
//   edgefed_fleet_telemetry_records_total{kind} (train, link, system,
//     dropped, other),
//   edgefed_fleet_link_state{state} (agents by the link state they last
//     reported: online, offline, unknown; at scrape time).
// Records are de-duplicated per agent by seq (a resent batch is not counted
// twice). Thread-safe (one mutex).
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
  void observe(const TelemetryBatch& batch);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct AgentState {
    int64_t last_seq = 0;
    std::string link_state = "unknown";
  };
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* loss_;
  prometheus::Histogram* speed_;
  prometheus::Histogram* temperature_;
  prometheus::Histogram* outbox_;
  std::map<std::string, prometheus::Counter*> kinds_;
  mutable std::mutex mu_;
  std::map<std::string, AgentState> agents_;
};

}  // namespace edgefed::server::monitor
