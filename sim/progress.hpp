// The live progress line on a terminal (rewritten in place), or one
// structured log line every few seconds when stderr is not a terminal.
#pragma once

#include "curve_recorder.hpp"
#include "fleet.hpp"

namespace edgefed::sim {

class Progress {
 public:
  Progress();
  // Called about once a second.
  void update(double seconds, const ServerCounters& server, const std::optional<CurvePoint>& eval,
              const FleetTotals& fleet, const char* phase);
  void finish();  // ends the terminal line

 private:
  bool tty_;
  double last_log_s_ = -1e9;
  double last_rate_s_ = 0;
  int64_t last_merged_ = 0;
  double rate_ = 0;
};

}  // namespace edgefed::sim
