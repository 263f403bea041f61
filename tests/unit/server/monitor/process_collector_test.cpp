#include "server/monitor/process_collector.hpp"

#include <prometheus/metric_family.h>

#include <catch2/catch.hpp>
#include <map>

using namespace edgefed::server::monitor;

TEST_CASE("process metrics come from /proc/self", "[unit]") {
  std::map<std::string, double> v;
  for (const auto& f : ProcessCollector().Collect()) {
    REQUIRE(f.metric.size() == 1);
    v[f.name] = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value : f.metric[0].gauge.value;
  }
  CHECK(v.at("process_resident_memory_bytes") > 1e6);
  CHECK(v.at("process_open_fds") >= 3);
  CHECK(v.at("process_cpu_seconds_total") >= 0);
  CHECK(v.at("process_start_time_seconds") > 1.6e9);
  CHECK(v.at("process_threads") >= 1);
}
