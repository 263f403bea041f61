// Whether a new global version may replace the model an agent serves: the
// version's metric on the agent's holdout (the local validation split, never
// trained on) against the serving model's on the same samples.
//   classification  accuracy; refused when it is more than `threshold`
//                   below the serving model's (default 0.02: 2 points)
//   regression,     the holdout loss (MSE or Huber on the standardised
//   autoencoder     targets; the mean reconstruction error); refused when
//                   it is more than `threshold` x the serving model's above
//                   it (default: 2 % worse)
// A version is always accepted when nothing is served yet or when either
// side has no holdout samples (nothing to judge by; the verdict says so).
//
// Thread safety: immutable after construction. Errors: none (pure).
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/trainer.hpp"

namespace edgefed::agent {

enum class ServingMetric { kAccuracy, kLoss };
const char* to_string(ServingMetric m);  // "accuracy", "loss"

// One version's figure on the holdout.
struct Validation {
  int64_t version = -1;
  ServingMetric metric = ServingMetric::kAccuracy;
  double value = 0;       // accuracy (higher is better) or loss (lower is better)
  int64_t samples = 0;    // 0: not validated (no holdout)
  double loss = 0;        // the holdout loss, whatever the metric
  // Autoencoders: the robust anomaly threshold of the holdout's errors
  // (median + 3 x 1.4826 x MAD) that predictions are judged by; else 0.
  double anomaly_threshold = 0;
};

struct Verdict {
  bool accept = true;
  // How much worse the candidate is, in the metric's direction: points of
  // accuracy (0.03 = 3 points) or the relative rise of the loss (0.05 = 5 %).
  // Negative when it is better.
  double worse_by = 0;
  std::string reason;  // one line for logs and telemetry
};

class ServingRule {
 public:
  static constexpr double kDefaultThreshold = 0.02;
  explicit ServingRule(double threshold = kDefaultThreshold) : threshold_(threshold) {}

  // The figure serving decisions use for a model of this task.
  static Validation validation_of(int64_t version, ml::TaskType task, const ml::EvalResult& eval);

  // `serving` is null when no model is served yet.
  Verdict judge(const Validation& candidate, const Validation* serving) const;

  double threshold() const { return threshold_; }

 private:
  double threshold_;
};

}  // namespace edgefed::agent
