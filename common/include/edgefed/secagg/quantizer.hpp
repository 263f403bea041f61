// Quantizer: fixed point in the ring Z_2^32, so that masked sums are exact
// and wrap-around is ruled out by construction.
//
// An agent quantizes its weighted update w * x coordinate by coordinate:
//   clip to [-C, C], q = round(w * x * scale), stored as q mod 2^32,
// with scale = L / C and L = floor((2^31 - 1) / K) for a cohort of at most K
// summed updates. Then |sum of K values| <= K * L <= 2^31 - 1: the ring sum,
// read as a signed 32-bit value, is the exact integer sum, and
// dequantize_sum() divides it by scale.
//
// Error: for weighted values inside [-C, C] each rounding is off by at most
// step / 2 (step = 1 / scale = C / L), so a sum of n <= K updates is off by
// at most n * step / 2 per coordinate (plus the float rounding of the
// result, relative 2^-24). Values outside [-C, C] are clipped: choose C
// from the norm clipping the agents apply, times the largest weight.
// Example: K = 100, C = 1 gives step = 4.7e-8 and a bound of 2.3e-6.
// The weight (sample count share, staleness discount) is applied by the
// agent before quantizing, so the server only ever needs the plain sum.
//
// Thread safety: immutable after create(); share freely.
// Errors: K = 0, a non-finite or non-positive C, or K so large that
// L < 1 -> kInvalidArgument; a NaN/Inf value or weight -> kNonFinite;
// a ring sum outside [-K * L, K * L] (masks not removed, or more than K
// inputs) -> kUnprocessable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::secagg {

class Quantizer {
 public:
  static Result<Quantizer> create(std::size_t cohort_size, double clip);

  std::size_t cohort_size() const { return cohort_size_; }
  double clip() const { return clip_; }
  // L: the largest |q| of one quantized value.
  std::uint32_t max_level() const { return max_level_; }
  double scale() const { return scale_; }
  double step() const { return 1.0 / scale_; }
  // The rounding error bound of a sum of `summed` updates, per coordinate.
  double error_bound(std::size_t summed) const { return static_cast<double>(summed) * step() / 2; }

  Result<std::vector<std::uint32_t>> quantize(std::span<const float> values, double weight = 1.0) const;
  Result<std::vector<float>> dequantize_sum(std::span<const std::uint32_t> ring_sum) const;

 private:
  Quantizer(std::size_t cohort_size, double clip, std::uint32_t max_level);

  std::size_t cohort_size_;
  double clip_;
  std::uint32_t max_level_;
  double scale_;
};

}  // namespace edgefed::secagg
