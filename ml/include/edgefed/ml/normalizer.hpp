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

}  // namespace edgefed::ml
