// Concept drift on the device: how far the inputs the application sends
// for prediction, and the served model's answers to them, have moved from
// what the model saw at its validation (the holdout).
//   reference  at install: per input feature mean and std over the holdout,
//              and mean and std of the model's output signal there: the
//              classifier's confidence (top softmax probability), the
//              autoencoder's reconstruction error, the regression value
//   window     the last `window` predictions served (socket or command)
//   score      max(input shift, output shift), each a standardised mean
//              difference: input = mean over features of
//              |mean_live - mean_ref| / std_ref, output = |mean_live -
//              mean_ref| / std_ref of the output signal. 0 = like the
//              holdout; around 1 = a shift of one standard deviation (the
//              seeds' lighting change or tool wear).
// Thread safety: every method may be called from any thread (one mutex;
// observe() costs O(features) per input).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "edgefed/ml/dataset.hpp"

namespace edgefed::agent {

struct DriftReference {
  int64_t version = -1;
  std::vector<double> feature_mean, feature_std;  // per input feature
  double output_mean = 0, output_std = 0;         // of the output signal
  // A feature (or output) whose holdout std is below this is measured
  // against it: a tenth of the features' mean std, so a pixel that is 0 on
  // every holdout image does not turn a speck of noise into a huge shift.
  double std_floor = 1e-3;
  int64_t samples = 0;
};

struct DriftReport {
  int64_t version = -1;     // the served version the window belongs to
  double score = 0;
  double input_shift = 0;
  double output_shift = 0;
  double output_mean = 0;   // live mean of the output signal
  int64_t window = 0;       // predictions in the window
};

class DriftMonitor {
 public:
  explicit DriftMonitor(int64_t window = 512) : window_(window) {}

  // The reference of a newly served model from its holdout and its output
  // signal there. `with_inputs` false: outputs only (a forecast model that
  // standardises its inputs itself: its holdout is standardised, the
  // application's inputs are in sensor units).
  static DriftReference reference(int64_t version, const ml::Dataset& holdout, const std::vector<double>& outputs,
                                  bool with_inputs = true);
  // Clears the window.
  void reset(DriftReference reference);

  // One served prediction: its input row (`width` floats; 0 when the
  // reference has no inputs) and output signal.
  void observe(const float* input, int64_t width, double output);

  // nullopt while the window holds fewer than `min_samples` predictions or
  // there is no reference.
  std::optional<DriftReport> report(int64_t min_samples = 50) const;

 private:
  mutable std::mutex mu_;
  int64_t window_;
  std::optional<DriftReference> ref_;
  std::deque<std::vector<float>> inputs_;
  std::deque<double> outputs_;
  std::vector<double> input_sum_;  // running sums over the window
  double output_sum_ = 0;
};

}  // namespace edgefed::agent
