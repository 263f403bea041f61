// The scripted link faults of a run, fixed in advance from the seed so a run
// can be repeated: per-agent random outages (exponential gaps and lengths),
// whole-fleet outages, and server restarts. Times are seconds from the start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::sim {

struct Interval {
  double start = 0;
  double end = 0;
  bool contains(double t) const { return t >= start && t < end; }
};

class OutagePlan {
 public:
  struct Options {
    int agents = 0;
    double horizon_s = 0;          // no outage starts after this
    double mean_interval_s = 0;    // per agent; 0 = no random outages
    double mean_duration_s = 0;
    std::string fleet_outages;     // "AT:DUR,AT:DUR"
    std::string server_restarts;   // "T,T"
    std::string relay_cut;         // "AT:DUR": relay 0's uplink ("" = none)
    uint64_t seed = 1;
    // Wall seconds per second of the times above (fleet time: the
    // dilation, so faults land at the same fleet second whatever the
    // dilation). horizon_s is wall seconds; the plan's times come out in
    // wall seconds.
    double time_scale = 1;
  };
  static Result<OutagePlan> create(const Options& options);

  // Whether agent i's link is cut at time t (its own outages or a fleet one).
  bool link_down(int agent, double t) const;
  const std::vector<Interval>& fleet() const { return fleet_; }
  const std::vector<double>& server_restarts() const { return restarts_; }
  const std::optional<Interval>& relay_cut() const { return relay_cut_; }
  size_t random_outages() const;  // count over all agents

 private:
  std::vector<std::vector<Interval>> per_agent_;
  std::vector<Interval> fleet_;
  std::vector<double> restarts_;
  std::optional<Interval> relay_cut_;
};

}  // namespace edgefed::sim
