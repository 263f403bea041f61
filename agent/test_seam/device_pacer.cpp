#include "agent/test_seam/device_pacer.hpp"

#include <time.h>

#include <cmath>

namespace edgefed::agent {
namespace {

double non_negative(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

}  // namespace

double DevicePacer::wait_after_round(double cpu_s, double wall_s) {
  cpu_s = non_negative(cpu_s);
  wall_s = non_negative(wall_s);
  const double device_s = cpu_s * profile_.slowdown;
  const double budget_s = device_s * profile_.dilation;
  std::lock_guard lock(mu_);
  stats_.rounds += 1;
  stats_.cpu_s += cpu_s;
  stats_.device_s += device_s;
  if (wall_s > budget_s) {
    stats_.rounds_behind += 1;
    stats_.overrun_wall_s += wall_s - budget_s;
    return 0;
  }
  return budget_s - wall_s;
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
