#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "edgefed/log.hpp"

namespace edgefed::sim {

Progress::Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}

void Progress::update(double t, const ServerCounters& server, const std::optional<CurvePoint>& eval,
                      const FleetTotals& fleet, const char* phase) {
  if (t - last_rate_s_ >= 2) {
    rate_ = (server.updates_accepted - last_merged_) / (t - last_rate_s_);
    last_merged_ = server.updates_accepted;
    last_rate_s_ = t;
  }
  const int64_t backlog = fleet.outbox_updates + fleet.outbox_telemetry;
  if (tty_) {
    std::fprintf(stderr,
                 "\r\033[K[%5.0fs %-8s] version %-5lld acc %.4f  agents online %3d offline %3d  "
                 "outbox %6lld  updates/s %6.1f%s",
                 t, phase, static_cast<long long>(server.version), eval ? eval->accuracy : 0.0, fleet.online,
                 fleet.offline, static_cast<long long>(backlog), rate_, server.reachable ? "" : "  (server down)");
    std::fflush(stderr);
    return;
  }
  if (t - last_log_s_ < 5) return;
  last_log_s_ = t;
  log::info("sim_progress")
      .kv("seconds", static_cast<int64_t>(t))
      .kv("phase", phase)
      .kv("version", server.version)
      .kv("accuracy", eval ? eval->accuracy : 0.0)
      .kv("online", fleet.online)
      .kv("offline", fleet.offline)
      .kv("outbox_backlog", backlog)
      .kv("updates_per_s", rate_)
      .kv("server_reachable", server.reachable);
}

void Progress::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace edgefed::sim
