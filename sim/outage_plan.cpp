#include "outage_plan.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

namespace edgefed::sim {
namespace {

Result<double> seconds(const std::string& text, const std::string& flag) {
  try {
    size_t pos = 0;
    const double v = std::stod(text, &pos);
    if (pos == text.size() && std::isfinite(v) && v >= 0) return v;
  } catch (const std::exception&) {
  }
  return Status(Code::kInvalidArgument, flag + ": '" + text + "' is not a number of seconds");
}

}  // namespace

Result<OutagePlan> OutagePlan::create(const Options& o) {
  OutagePlan plan;
  std::stringstream fs(o.fleet_outages);
  std::string item;
  while (std::getline(fs, item, ',')) {
    if (item.empty()) continue;
    const auto colon = item.find(':');
    if (colon == std::string::npos)
      return Status(Code::kInvalidArgument, "--fleet-outages: '" + item + "' is not AT:DURATION");
    auto at = seconds(item.substr(0, colon), "--fleet-outages");
    auto dur = seconds(item.substr(colon + 1), "--fleet-outages");
    if (!at) return at.status();
    if (!dur) return dur.status();
    plan.fleet_.push_back({*at * o.time_scale, (*at + *dur) * o.time_scale});
  }
  if (!o.relay_cut.empty()) {
    const auto colon = o.relay_cut.find(':');
    if (colon == std::string::npos)
      return Status(Code::kInvalidArgument, "--relay-cut: '" + o.relay_cut + "' is not AT:DURATION");
    auto at = seconds(o.relay_cut.substr(0, colon), "--relay-cut");
    auto dur = seconds(o.relay_cut.substr(colon + 1), "--relay-cut");
    if (!at) return at.status();
    if (!dur) return dur.status();
    plan.relay_cut_ = Interval{*at * o.time_scale, (*at + *dur) * o.time_scale};
  }
  std::stringstream rs(o.server_restarts);
  while (std::getline(rs, item, ',')) {
    if (item.empty()) continue;
    auto t = seconds(item, "--server-restarts");
    if (!t) return t.status();
    plan.restarts_.push_back(*t * o.time_scale);
  }
  std::sort(plan.restarts_.begin(), plan.restarts_.end());
  plan.per_agent_.resize(static_cast<size_t>(std::max(o.agents, 0)));
  const double interval_s = o.mean_interval_s * o.time_scale, duration_s = o.mean_duration_s * o.time_scale;
  if (interval_s > 0 && duration_s > 0) {
    for (int i = 0; i < o.agents; ++i) {
      std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(i) + 1);
      std::exponential_distribution<double> gap(1.0 / interval_s), len(1.0 / duration_s);
      for (double t = gap(rng); t < o.horizon_s; t += gap(rng)) {
        const double d = std::min(len(rng), 6 * duration_s);  // no endless outliers
        plan.per_agent_[static_cast<size_t>(i)].push_back({t, t + d});
        t += d;
      }
    }
  }
  return plan;
}

bool OutagePlan::link_down(int agent, double t) const {
  for (const auto& f : fleet_)
    if (f.contains(t)) return true;
  if (agent < 0 || static_cast<size_t>(agent) >= per_agent_.size()) return false;
  for (const auto& iv : per_agent_[static_cast<size_t>(agent)]) {
    if (iv.contains(t)) return true;
    if (iv.start > t) break;
  }
  return false;
}

size_t OutagePlan::random_outages() const {
  size_t n = 0;
  for (const auto& v : per_agent_) n += v.size();
  return n;
}

}  // namespace edgefed::sim
