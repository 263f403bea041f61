// The streaming kernel behind FedAvg and FedBuff: a running weighted sum of
// deltas plus the scalar moments needed for the weighted training loss and
// the gradient variance, in O(model size) memory however many updates are
// added (each update is read once and can be dropped right after add()).
//
// Sums are kept in double: with thousands of updates the float rounding of a
// naive running sum is larger than the differences the variance measures.
// Gradient variance uses the identity
//   sum_i w_i ||d_i - m||^2 / W = sum_i w_i ||d_i||^2 / W - ||m||^2,
//   m = sum_i w_i d_i / W,  W = sum_i w_i,
// so no second pass over the updates is needed.
// Not thread-safe: one owner (the engine's writer thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgefed::server {

class WeightedAccumulator {
 public:
  explicit WeightedAccumulator(size_t dim = 0) : sum_(dim, 0.0) {}

  // REQUIRES: delta.size() == dim(), weight > 0 and finite. `norm2` is
  // ||delta||^2 when the caller already has it (the engine computes it on
  // the caller's thread, beside the decoding); negative: computed here, in
  // the same pass as the sum. Returns ||delta||^2.
  double add(std::span<const float> delta, double weight, double train_loss, double norm2 = -1.0);

  size_t dim() const { return sum_.size(); }
  int64_t count() const { return count_; }
  double total_weight() const { return total_weight_; }
  // sum_i w_i d_i (unnormalised).
  const std::vector<double>& weighted_sum() const { return sum_; }
  // m = sum w d / W as float; empty if count() == 0.
  std::vector<float> mean() const;
  // sum w loss / W; 0 if empty.
  double weighted_loss() const;
  // sum w ||d - m||^2 / W (>= 0; clamped against rounding); 0 if empty.
  double gradient_variance() const;

  // Back to empty, optionally with a new dimension.
  void reset();
  void reset(size_t dim);

 private:
  std::vector<double> sum_;
  double total_weight_ = 0.0;
  double weighted_norm2_ = 0.0;  // sum w ||d||^2
  double weighted_loss_ = 0.0;   // sum w loss
  int64_t count_ = 0;
};

}  // namespace edgefed::server
