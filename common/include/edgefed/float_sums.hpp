// Sums over float vectors in double precision, used on every accepted update
// (its norm, the outlier monitor's cosine). Lanes are summed separately and
// combined at the end, so results can differ from a sequential double sum in
// the last bits (relative error about n * 2^-53).
#pragma once

#include <span>

namespace edgefed {

// sum_i x[i]^2
double sum_squares(std::span<const float> x);

struct NormAndDot {
  double norm2 = 0.0;  // sum_i x[i]^2
  double dot = 0.0;    // sum_i x[i] * y[i]
};

// Both sums in one pass. REQUIRES: x.size() == y.size().
NormAndDot norm_and_dot(std::span<const float> x, std::span<const float> y);

// sum_i x[i] * y[i], for when the norm is known already.
// REQUIRES: x.size() == y.size().
double dot(std::span<const float> x, std::span<const float> y);

}  // namespace edgefed
