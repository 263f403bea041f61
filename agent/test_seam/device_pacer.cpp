#include "agent/test_seam/device_pacer.hpp"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace edgefed::agent {
namespace {

double non_negative(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

}  // namespace

double DevicePacer::network_seconds(RoundTraffic t) const {
  double s = 0;
  for (const auto& [bytes, rate] : {std::pair{t.download_bytes, profile_.downlink_bytes_per_s},
                                    std::pair{t.upload_bytes, profile_.uplink_bytes_per_s}}) {
    if (bytes <= 0) continue;
    s += profile_.latency_s;
    if (rate > 0) s += static_cast<double>(bytes) / rate;
  }
  return s;
}

double DevicePacer::wait_after_round(double cpu_s, double wall_s, RoundTraffic traffic) {
  cpu_s = non_negative(cpu_s);
  wall_s = non_negative(wall_s);
  const double device_s = cpu_s * profile_.slowdown;
  const double network_s = network_seconds(traffic);
  // Behind is judged on the compute: the wall time measured is the
  // computation's, the link's time is only waited for.
  const double compute_budget_s = device_s * profile_.dilation;
  const double budget_s = (device_s + network_s) * profile_.dilation;
  std::lock_guard lock(mu_);
  stats_.rounds += 1;
  stats_.cpu_s += cpu_s;
  stats_.device_s += device_s;
  stats_.network_s += network_s;
  if (wall_s > compute_budget_s) {
    stats_.rounds_behind += 1;
    stats_.overrun_wall_s += wall_s - compute_budget_s;
  }
  return std::max(0.0, budget_s - wall_s);
}

PaceStats DevicePacer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

double thread_cpu_seconds() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace edgefed::agent
