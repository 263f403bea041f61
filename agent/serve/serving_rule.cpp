#include "agent/serve/serving_rule.hpp"

#include <cmath>
#include <cstdio>

namespace edgefed::agent {

const char* to_string(ServingMetric m) { return m == ServingMetric::kAccuracy ? "accuracy" : "loss"; }

Validation ServingRule::validation_of(int64_t version, ml::TaskType task, const ml::EvalResult& eval) {
  Validation v;
  v.version = version;
  v.samples = eval.num_samples;
  v.loss = eval.loss;
  if (task == ml::TaskType::kClassification) {
    v.metric = ServingMetric::kAccuracy;
    v.value = eval.accuracy;
  } else {
    v.metric = ServingMetric::kLoss;
    v.value = eval.loss;
  }
  return v;
}

Verdict ServingRule::judge(const Validation& candidate, const Validation* serving) const {
  Verdict v;
  char buf[200];
  if (!serving) {
    v.reason = "nothing served yet";
    return v;
  }
  if (candidate.samples <= 0 || serving->samples <= 0) {
    v.reason = "no holdout samples to validate on";
    return v;
  }
  if (candidate.metric != serving->metric) {
    // A new architecture with another task: nothing comparable; serve it.
    v.reason = "metric changed (new task)";
    return v;
  }
  if (candidate.metric == ServingMetric::kAccuracy) {
    v.worse_by = serving->value - candidate.value;
    v.accept = !(v.worse_by > threshold_) && std::isfinite(candidate.value);
    std::snprintf(buf, sizeof buf, "accuracy %.4f vs %.4f served (%+.2f points, threshold %.2f)",
                  candidate.value, serving->value, -100.0 * v.worse_by, 100.0 * threshold_);
  } else {
    // Loss: relative to the served loss; a served loss of 0 refuses any rise.
    const double base = serving->value;
    v.worse_by = base > 0 ? (candidate.value - base) / base : (candidate.value > 0 ? INFINITY : 0.0);
    v.accept = !(v.worse_by > threshold_) && std::isfinite(candidate.value);
    std::snprintf(buf, sizeof buf, "loss %.6g vs %.6g served (%+.1f %%, threshold %.1f %%)", candidate.value,
                  base, 100.0 * v.worse_by, 100.0 * threshold_);
  }
  v.reason = buf;
  return v;
}

}  // namespace edgefed::agent
