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

TEST_CASE("telemetry is summarised per fleet and resent records are not counted twice", "[unit]") {
  auto registry = std::make_shared<prometheus::Registry>();
  FleetTelemetry fleet(registry);
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
  fleet.observe(b);  // the agent resent the batch
  CHECK(counter(*registry, "edgefed_fleet_telemetry_records_total", "train") == 1);
  CHECK(counter(*registry, "edgefed_fleet_telemetry_records_total", "link") == 1);
  const auto families = fleet.Collect();
  REQUIRE(families.size() == 1);
  for (const auto& m : families[0].metric) {
    CHECK(m.gauge.value == (m.label[0].value == "offline" ? 1 : 0));
  }
}
