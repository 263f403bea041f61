#include "server/engine/serving_view.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace edgefed::server {

uint64_t cohort_hash(const std::string& agent) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : agent) h = (h ^ c) * 1099511628211ull;
  return h;
}

double FleetValidation::worse_by() const {
  if (metric == "accuracy") return serving_value - value;
  if (serving_value > 0) return (value - serving_value) / serving_value;
  return value > 0 ? INFINITY : 0.0;
}

bool ServingView::in_cohort(const std::string& agent) const {
  return enabled && cohort && cohort->count(agent) > 0;
}

CohortChoice choose_cohort(const std::vector<CohortCandidate>& fleet, double fraction, int64_t min_agents) {
  // ceil without the rounding of 0.1 x 30 = 3.0000000000000004 adding one.
  auto share = [fraction](int64_t n) {
    return static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
  };
  struct Ranked {
    uint64_t hash;
    const CohortCandidate* who;
  };
  std::vector<Ranked> ranked;
  ranked.reserve(fleet.size());
  for (const auto& c : fleet) ranked.push_back({cohort_hash(c.agent), &c});
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return std::tie(a.hash, a.who->agent) < std::tie(b.hash, b.who->agent);
  });
  CohortChoice out;
  for (const auto& r : ranked) out.classes[r.who->device_class].agents += 1;
  auto members = std::make_shared<std::unordered_set<std::string>>();
  std::map<std::string, int64_t> quota;
  for (const auto& [cls, c] : out.classes) quota[cls] = std::min(c.agents, share(c.agents));
  for (const auto& r : ranked) {
    int64_t& q = quota[r.who->device_class];
    if (q <= 0) continue;
    --q;
    members->insert(r.who->agent);
    out.classes[r.who->device_class].cohort += 1;
  }
  const auto n = static_cast<int64_t>(fleet.size());
  const int64_t want = std::min(n, std::max(min_agents, share(n)));
  for (const auto& r : ranked) {
    if (static_cast<int64_t>(members->size()) >= want) break;
    if (members->insert(r.who->agent).second) out.classes[r.who->device_class].cohort += 1;
  }
  out.members = std::move(members);
  return out;
}

Channel ServingView::channel_of(int64_t version) const {
  auto it = channels.find(version);
  return it == channels.end() ? Channel::kCandidate : it->second.channel;
}

std::pair<int64_t, std::string> ServingView::target_for(const std::string& agent) const {
  if (!enabled || stable < 0) return {-1, ""};
  if (canary >= 0 && in_cohort(agent)) return {canary, "canary"};
  return {stable, "stable"};
}

}  // namespace edgefed::server
