#include "server/monitor/outlier_monitor.hpp"

#include <prometheus/counter.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>

#include "edgefed/float_sums.hpp"
#include "edgefed/log.hpp"

namespace edgefed::server::monitor {
namespace {
// Floors of the robust scales: below them differences are noise, not signal.
// Honest update norms drift by tens of percent between versions (staleness,
// device speed, the loss falling), so a z of 3.5 must mean more than that.
constexpr double kNormScaleFloor = 0.2;     // log-norm: 3.5 x 0.2 = a factor of 2
constexpr double kCosineScaleFloor = 0.05;
}  // namespace

OutlierMonitor::OutlierMonitor(OutlierOptions options, std::shared_ptr<prometheus::Registry> registry,
                               QuarantineFn quarantine)
    : options_(options),
      quarantine_(std::move(quarantine)),
      norms_(options.window),
      cosines_(options.window),
      registry_(std::move(registry)) {
  if (!registry_) return;
  outlier_updates_ = &prometheus::BuildCounter().Name("edgefed_outlier_updates_total")
                          .Help("Accepted updates whose outlier score exceeded the threshold.")
                          .Register(*registry_).Add({});
  quarantines_ = &prometheus::BuildCounter().Name("edgefed_quarantines_total")
                      .Help("Agents quarantined automatically, by reason.")
                      .Register(*registry_).Add({{"reason", "outlier"}});
}

void OutlierMonitor::set_direction(std::vector<float> direction) {
  const double n2 = sum_squares(direction);  // vectorised: once per version, over the whole model
  std::lock_guard<std::mutex> lock(mu_);
  direction_norm_ = std::sqrt(n2);
  direction_ = direction.empty() || n2 == 0 ? nullptr
                                            : std::make_shared<const std::vector<float>>(std::move(direction));
}

OutlierVerdict OutlierMonitor::observe(const std::string& agent, std::span<const float> delta,
                                       std::optional<double> norm2) {
  std::shared_ptr<const std::vector<float>> dir;
  double dir_norm;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dir = direction_;
    dir_norm = direction_norm_;
  }
  // The O(model) part outside the lock.
  const bool use_dir = dir && dir->size() == delta.size();
  // The norm, when the caller has it, is not summed again: only the cosine's
  // dot product is left.
  NormAndDot sums;
  if (norm2) sums = {*norm2, use_dir ? dot(delta, *dir) : 0.0};
  else sums = use_dir ? norm_and_dot(delta, *dir) : NormAndDot{sum_squares(delta), 0.0};
  const double norm = std::sqrt(sums.norm2);
  std::optional<double> cosine;
  if (use_dir && norm > 0) cosine = sums.dot / (norm * dir_norm);
  OutlierVerdict v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v = score_locked(agent, std::log(std::max(norm, 1e-30)), cosine);
  }
  if (v.outlier && outlier_updates_) outlier_updates_->Increment();
  if (v.quarantine) {
    log::warn("agent_quarantined").kv("agent", agent).kv("score", v.score).kv("recent_outliers", v.consecutive)
        .kv("reason", "outlier");
    if (quarantines_) quarantines_->Increment();
    if (quarantine_) quarantine_(agent, "outlier: " + std::to_string(v.consecutive) + " recent outlier updates");
  } else if (v.deferred) {
    log::warn("quarantine_deferred").kv("agent", agent).kv("score", v.score).kv("recent_outliers", v.consecutive)
        .kv("reason", "at most quarantine_max_share of the agents are quarantined at once");
  } else if (v.outlier) {
    log::info("outlier_update").kv("agent", agent).kv("score", v.score).kv("recent_outliers", v.consecutive);
  }
  return v;
}

OutlierVerdict OutlierMonitor::score_locked(const std::string& agent, double log_norm, std::optional<double> cosine) {
  OutlierVerdict v;
  // Score against the window BEFORE this update joins it.
  if (norms_.size() >= options_.min_samples) {
    const RobustScale s = norms_.scale(kNormScaleFloor);
    v.score = std::abs(log_norm - s.center) / s.scale;
  }
  if (cosine && cosines_.size() >= options_.min_samples) {
    const RobustScale s = cosines_.scale(kCosineScaleFloor);
    v.score = std::max(v.score, (s.center - *cosine) / s.scale);
  }
  norms_.add(log_norm);
  if (cosine) cosines_.add(*cosine);
  AgentState& a = agents_[agent];
  if (a.quarantined) {  // its update was accepted: it has been released
    a.quarantined = false;
    --quarantined_;
  }
  a.score = v.score;
  v.outlier = a.outlier = v.score > options_.threshold;
  const size_t memory = static_cast<size_t>(std::max<int64_t>(2 * options_.quarantine_after, 1));
  a.recent.push_back(v.outlier);
  while (a.recent.size() > memory) a.recent.pop_front();
  a.consecutive = std::count(a.recent.begin(), a.recent.end(), true);
  v.consecutive = a.consecutive;
  if (a.consecutive == 0) a.deferred = false;  // logged again only after a clean spell
  if (options_.quarantine_after > 0 && a.consecutive >= options_.quarantine_after) {
    const auto cap = std::max<int64_t>(
        1, static_cast<int64_t>(options_.quarantine_max_share * static_cast<double>(agents_.size())));
    if (quarantined_ >= cap) {
      v.deferred = !a.deferred;
      a.deferred = true;
      return v;
    }
    a.deferred = false;
    v.quarantine = true;
    a.quarantined = true;
    ++quarantined_;
    a.recent.clear();  // a released agent starts afresh
    a.consecutive = 0;
  }
  return v;
}

double OutlierMonitor::score(const std::string& agent) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agents_.find(agent);
  return it == agents_.end() ? 0 : it->second.score;
}

std::vector<prometheus::MetricFamily> OutlierMonitor::Collect() const {
  std::vector<std::pair<double, std::string>> ranked;
  double flagged = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, a] : agents_) {
      ranked.emplace_back(a.score, id);
      flagged += a.outlier ? 1 : 0;
    }
  }
  const size_t keep = options_.per_agent_metrics ? ranked.size() : std::min(options_.top_n, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(),
                    [](const auto& x, const auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
  prometheus::MetricFamily scores;
  scores.name = "edgefed_agent_outlier_score";
  scores.help = "Robust outlier score of the agent's last update (top-N agents by score only).";
  scores.type = prometheus::MetricType::Gauge;
  for (size_t i = 0; i < keep; ++i) {
    prometheus::ClientMetric m;
    m.label.push_back({"agent", ranked[i].second});
    m.gauge.value = ranked[i].first;
    scores.metric.push_back(std::move(m));
  }
  prometheus::MetricFamily count;
  count.name = "edgefed_outlier_agents";
  count.help = "Agents whose last update scored above the outlier threshold.";
  count.type = prometheus::MetricType::Gauge;
  count.metric.emplace_back();
  count.metric.back().gauge.value = flagged;
  std::vector<prometheus::MetricFamily> out;
  if (!scores.metric.empty()) out.push_back(std::move(scores));
  out.push_back(std::move(count));
  return out;
}

}  // namespace edgefed::server::monitor
