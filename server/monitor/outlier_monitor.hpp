// Per-agent outlier scores and automatic quarantine.
//
// Each accepted update is scored on two features, both robust to the
// fleet's own spread: log ||delta|| and the cosine similarity of delta to the
// merged direction (the last version step, params(v) - params(v-1); the
// current merge is not known when an update arrives, and the buffer is not
// held, so the previous step stands in for it). Each feature is compared
// with the median and MAD of a sliding window of the fleet's recent updates:
//   z_norm = |log n - median| / (1.4826 MAD),  z_cos = (median - cos) / (1.4826 MAD)
// (only a cosine BELOW the fleet's counts: pulling harder in the common
// direction is not suspicious). score = max(z_norm, z_cos); an update with
// score > threshold is an outlier update. An agent with at least
// quarantine_after outlier updates among its last 2 x quarantine_after
// (one honest-looking update in between does not reset a sick node, one
// spike does not condemn a healthy one) is quarantined (if enabled):
// log event "agent_quarantined" and edgefed_quarantines_total.
// At most quarantine_max_share of the agents seen (at least one) are held
// in quarantine by the monitor at a time: the median and MAD stop meaning
// "the honest fleet" once many agents are excluded, and a fleet of
// heterogeneous sensors (each agent its own season) otherwise cascades into
// quarantining everyone. An agent due beyond the cap is logged
// ("quarantine_deferred") and stays flagged; an agent counts as released
// once an update of it is accepted again.
//
// Metrics: edgefed_outlier_updates_total, edgefed_quarantines_total{reason},
// and (Collect(), at scrape time) edgefed_agent_outlier_score{agent} for the
// top_n agents by last score only, or all agents with per_agent_metrics
// (bounded cardinality), plus edgefed_outlier_agents (agents whose last
// update was an outlier).
//
// Thread-safe: every method takes the monitor's mutex; the quarantine
// callback runs outside it.
#pragma once

#include <prometheus/collectable.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/monitor/robust_stats.hpp"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace edgefed::server::monitor {

struct OutlierOptions {
  double threshold = 3.5;        // robust z above which an update is an outlier
  size_t window = 200;           // recent fleet updates the median/MAD use
  size_t min_samples = 10;       // no scores before the window holds this many
  int64_t quarantine_after = 0;  // consecutive outlier updates; 0 = never quarantine
  double quarantine_max_share = 0.25;  // of the agents seen, held in quarantine at once (at least 1)
  size_t top_n = 10;             // per-agent score series exported
  bool per_agent_metrics = false;  // export every agent's score (cardinality!)
};

struct OutlierVerdict {
  double score = 0;
  bool outlier = false;
  int64_t consecutive = 0;  // outlier updates among the agent's recent ones (2 x quarantine_after)
  bool quarantine = false;  // the caller should quarantine the agent now
  bool deferred = false;    // due, but the quarantine cap is reached
};

class OutlierMonitor : public prometheus::Collectable {
 public:
  using QuarantineFn = std::function<void(const std::string& agent, const std::string& reason)>;
  // registry may be null (no counters); quarantine may be empty.
  OutlierMonitor(OutlierOptions options, std::shared_ptr<prometheus::Registry> registry, QuarantineFn quarantine);

  // The newest merged direction (empty = unknown, e.g. version 0).
  void set_direction(std::vector<float> direction);
  // Scores one accepted update and, if due, quarantines its agent. norm2 is
  // delta's sum of squares if the caller knows it (computed here if not).
  OutlierVerdict observe(const std::string& agent, std::span<const float> delta,
                         std::optional<double> norm2 = std::nullopt);
  // Last score per agent (0 for unknown agents).
  double score(const std::string& agent) const;
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct AgentState {
    double score = 0;
    int64_t consecutive = 0;
    std::deque<bool> recent;  // outlier flags of the last 2 x quarantine_after updates
    bool outlier = false;
    bool quarantined = false;  // by this monitor, until an update is accepted again
    bool deferred = false;     // due beyond the cap (logged once until its recent updates are all clean)
  };
  OutlierVerdict score_locked(const std::string& agent, double log_norm, std::optional<double> cosine);

  const OutlierOptions options_;
  QuarantineFn quarantine_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<float>> direction_;
  double direction_norm_ = 0;
  RobustWindow norms_;
  RobustWindow cosines_;
  std::map<std::string, AgentState> agents_;
  int64_t quarantined_ = 0;  // agents with AgentState::quarantined
  prometheus::Counter* outlier_updates_ = nullptr;
  prometheus::Counter* quarantines_ = nullptr;
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace edgefed::server::monitor
