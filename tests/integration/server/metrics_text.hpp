// Test support: reading a Prometheus text exposition (GET /metrics).
#pragma once

#include <map>
#include <sstream>
#include <string>

namespace edgefed::testing {

// Every sample, by its series exactly as printed
// ("edgefed_updates_total{result=\"accepted\"}").
inline std::map<std::string, double> metric_samples(const std::string& exposition) {
  std::map<std::string, double> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The sample, or -1 when the series is absent (so a missing series fails an
// equality with 0 as loudly as a wrong value).
inline double metric_value(const std::map<std::string, double>& samples, const std::string& series) {
  auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

// The telemetry series the server exports: edgefed_telemetry_records_total,
// edgefed_fleet_telemetry_records_total{kind} and the fleet histograms' _count.
inline const char* const kFleetKinds[] = {"train", "link", "system", "dropped", "model", "validation", "model_rejected", "drift", "other"};
inline const char* const kFleetHistogramCounts[] = {
    "edgefed_fleet_train_loss_count", "edgefed_fleet_samples_per_second_count",
    "edgefed_fleet_cpu_temperature_celsius_count", "edgefed_fleet_outbox_updates_count"};
inline std::string fleet_kind_series(const std::string& kind) {
  return "edgefed_fleet_telemetry_records_total{kind=\"" + kind + "\"}";
}

}  // namespace edgefed::testing
