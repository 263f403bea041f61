#include "server/monitor/fleet_telemetry.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace edgefed::server::monitor {
namespace {

using prometheus::Histogram;

const char* kKinds[] = {"train", "link", "system", "dropped", "model", "validation", "model_rejected", "drift", "other"};
const char* kLinkStates[] = {"online", "offline", "unknown"};

Histogram* histogram(prometheus::Registry& r, const char* name, const char* help, Histogram::BucketBoundaries b) {
  return &prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, std::move(b));
}

}  // namespace

FleetTelemetry::FleetTelemetry(std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  loss_ = histogram(r, "edgefed_fleet_train_loss", "Local training loss agents reported (train records).",
                    {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5});
  speed_ = histogram(r, "edgefed_fleet_samples_per_second", "Local training throughput agents reported, samples/s.",
                     {100, 300, 1000, 3000, 10000, 30000, 100000, 300000});
  temperature_ = histogram(r, "edgefed_fleet_cpu_temperature_celsius", "CPU temperature agents reported.",
                           {30, 40, 50, 60, 70, 80, 90, 100});
  outbox_ = histogram(r, "edgefed_fleet_outbox_updates", "Updates waiting in agents' outboxes (reported depth).",
                      {0, 1, 2, 5, 10, 20, 50, 100, 1000});
  auto& kinds = prometheus::BuildCounter().Name("edgefed_fleet_telemetry_records_total")
                    .Help("Telemetry records newly stored, by kind (a record resent after a lost ack is not counted again).").Register(r);
  for (const char* k : kKinds) kinds_[k] = &kinds.Add({{"kind", k}});
}

void FleetTelemetry::observe(const TelemetryBatch& stored) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string& link_state = link_states_.try_emplace(stored.agent_id, "unknown").first->second;
  for (const auto& rec : stored.records) {
    auto kind = kinds_.find(rec.kind);
    (kind == kinds_.end() ? kinds_["other"] : kind->second)->Increment();
    auto value = [&](const char* key) -> const double* {
      auto it = rec.values.find(key);
      return it == rec.values.end() ? nullptr : &it->second;
    };
    if (rec.kind == "train") {
      if (auto* v = value("loss")) loss_->Observe(*v);
      if (auto* v = value("samples_per_s")) speed_->Observe(*v);
    }
    if (rec.kind == "drift") {
      if (auto* v = value("score")) drift_[stored.agent_id] = *v;
    }
    if (auto* v = value("cpu_temp_c")) temperature_->Observe(*v);
    if (auto* v = value("outbox_updates")) outbox_->Observe(*v);
    if (auto it = rec.labels.find("link_state"); it != rec.labels.end()) {
      link_state = it->second == "online" || it->second == "offline" ? it->second : "unknown";
    }
  }
}

std::vector<prometheus::MetricFamily> FleetTelemetry::Collect() const {
  std::map<std::string, double> counts;
  for (const char* s : kLinkStates) counts[s] = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, state] : link_states_) counts[state] += 1;
  }
  prometheus::MetricFamily f;
  f.name = "edgefed_fleet_link_state";
  f.help = "Agents by the link state they last reported in telemetry.";
  f.type = prometheus::MetricType::Gauge;
  for (const auto& [state, n] : counts) {
    prometheus::ClientMetric m;
    m.label.push_back({"state", state});
    m.gauge.value = n;
    f.metric.push_back(std::move(m));
  }
  prometheus::MetricFamily d;
  d.name = "edgefed_agent_drift_score";
  d.help = "Concept drift each agent last reported: the standardised shift of its application's inputs or of the "
           "served model's answers from the holdout's (0 = none, ~1 = one standard deviation).";
  d.type = prometheus::MetricType::Gauge;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [agent, score] : drift_) {
      prometheus::ClientMetric m;
      m.label.push_back({"agent", agent});
      m.gauge.value = score;
      d.metric.push_back(std::move(m));
    }
  }
  std::vector<prometheus::MetricFamily> out{f};
  if (!d.metric.empty()) out.push_back(std::move(d));  // no family until an agent reports drift
  return out;
}

}  // namespace edgefed::server::monitor
