// Per-channel standardisation (z = (v - mean) / std) for sensor series:
// fitted on an agent's own training data, applied to its features and
// targets, inverted to report errors in the sensor's units, and sent as
// compact JSON ({"mean":[..],"std":[..]}) in update metadata so the server
// or a reader of the model knows the scale.
//
// Thread safety: a value type; const use from many threads is safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct Normalizer {
  std::vector<double> mean;  // one entry per channel
  std::vector<double> std;   // > 0; 1 for a constant (or empty) channel, so apply() never divides by 0

  // One channel per vector (population standard deviation).
  static Normalizer fit(std::span<const std::vector<double>> channels);
  // One channel per column of `rows`.
  static Normalizer fit(const FeatureMatrix& rows);
  // One channel per (mean, population variance) pair, with fit()'s rule for
  // a constant channel (std 1). REQUIRES: mean.size() == var.size().
  static Normalizer from_moments(std::span<const double> mean, std::span<const double> var);

  size_t channels() const { return mean.size(); }
  // REQUIRES: channel < channels().
  double apply(size_t channel, double v) const { return (v - mean[channel]) / std[channel]; }
  double invert(size_t channel, double z) const { return z * std[channel] + mean[channel]; }

  // Shortest round-trip decimal JSON: parse(to_string()) gives the same values.
  std::string to_string() const;
  // kInvalidArgument naming the problem: bad JSON, missing or non-array
  // "mean"/"std", different lengths, a non-finite value, std <= 0, or more
  // than 1 << 16 channels.
  static Result<Normalizer> parse(std::string_view text);
};

// The pooled standardisation of several agents' normalizers, each weighted
// by its sample count: the mean and (population) std the union of their
// data would have had, mean = sum w m / W, var = sum w (s^2 + m^2) / W - mean^2.
// The server pools the normalizers of the updates it merges into a version.
//
// Thread safety: a value type; the caller serialises add().
class NormalizerPool {
 public:
  // kInvalidArgument when `n` has another channel count than those added
  // before, or weight is not finite and > 0; the pool is then unchanged.
  Status add(const Normalizer& n, double weight);
  bool empty() const { return weight_ <= 0; }
  size_t channels() const { return sum_mean_.size(); }
  // REQUIRES: !empty(). A constant pooled channel gets std 1, as fit() does.
  Normalizer result() const;
  void reset() { *this = NormalizerPool(); }

 private:
  std::vector<double> sum_mean_;  // sum w m, per channel
  std::vector<double> sum_sq_;    // sum w (s^2 + m^2)
  double weight_ = 0;
};

}  // namespace edgefed::ml
