#include "server/monitor/fleet_telemetry.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

using namespace edgefed;
using namespace edgefed::server::monitor;

namespace {
double counter(prometheus::Registry& r, const std::string& name, const std::string& kind) {
  for (const auto& f : r.Collect())
    if (f.name == name)
      for (const auto& m : f.metric)
        if (!m.label.empty() && m.label[0].value == kind) return m.counter.value;
  return -1;
}
}  // namespace

TEST_CASE("telemetry is summarised per fleet, each record given counted once", "[unit]") {
  auto registry = std::make_shared<prometheus::Registry>();
  FleetTelemetry fleet(registry);
  // Every kind exists at 0 before the first record.
  for (const char* kind : {"train", "link", "system", "dropped", "model", "validation", "model_rejected", "drift", "other"}) {
    CHECK(counter(*registry, "edgefed_fleet_telemetry_records_total", kind) == 0);
  }
  TelemetryBatch b;
  b.agent_id = "agent-1";
  TelemetryRecord r;
  r.seq = 1;
  r.kind = "train";
  r.values["loss"] = 0.7;
  r.labels["link_state"] = "online";
  b.records.push_back(r);
  r.seq = 2;
  r.kind = "link";
  r.labels["link_state"] = "offline";
  b.records.push_back(r);
  fleet.observe(b);
  // The monitor keeps no seq: it counts what it is given (the engine gives it
  // only the records the store has just stored), so a later batch with seqs
  // it has not seen and one with seqs it has are both counted.
  TelemetryBatch later;
  later.agent_id = "agent-1";
  r.seq = 1;
  r.kind = "weird";
  r.labels.clear();
  later.records.push_back(r);
  fleet.observe(later);
  CHECK(counter(*registry, "edgefed_fleet_telemetry_records_total", "train") == 1);
  CHECK(counter(*registry, "edgefed_fleet_telemetry_records_total", "link") == 1);
  CHECK(counter(*registry, "edgefed_fleet_telemetry_records_total", "other") == 1);
  const auto families = fleet.Collect();
  REQUIRE(families.size() == 1);
  for (const auto& m : families[0].metric) {
    CHECK(m.gauge.value == (m.label[0].value == "offline" ? 1 : 0));
  }
}

TEST_CASE("each agent's last drift score is a gauge labelled with the agent", "[unit]") {
  FleetTelemetry fleet(std::make_shared<prometheus::Registry>());
  auto drift_of = [&](const std::string& agent) {
    for (const auto& f : fleet.Collect())
      if (f.name == "edgefed_agent_drift_score")
        for (const auto& m : f.metric)
          if (m.label.size() == 1 && m.label[0].value == agent) return m.gauge.value;
    return -1.0;
  };
  CHECK(drift_of("agent-1") == -1.0);  // no series before a report
  TelemetryBatch b;
  b.agent_id = "agent-1";
  TelemetryRecord r;
  r.seq = 1;
  r.kind = "drift";
  r.values["score"] = 1.7;
  b.records.push_back(r);
  fleet.observe(b);
  CHECK(drift_of("agent-1") == 1.7);
  b.records[0].seq = 2;
  b.records[0].values["score"] = 0.2;
  fleet.observe(b);
  CHECK(drift_of("agent-1") == 0.2);
}
