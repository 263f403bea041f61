#include "server/engine/serving_view.hpp"

#include <cmath>

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
  return enabled && cohort_size > 0 && cohort_hash(agent) <= cohort_cut;
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
