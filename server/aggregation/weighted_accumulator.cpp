#include "server/aggregation/weighted_accumulator.hpp"

#include <algorithm>

#include "server/aggregation/kernels/aggregation_kernels.hpp"

namespace edgefed::server {

double WeightedAccumulator::add(std::span<const float> delta, double weight, double train_loss, double norm2) {
  // A known norm leaves a plain axpy: on the writer thread, the one every
  // update goes through, the norm's dependent adds were most of this pass.
  if (norm2 >= 0) {
    kernels::accumulate(sum_, delta, weight);
  } else {
    norm2 = kernels::accumulate_with_norm(sum_, delta, weight);
  }
  total_weight_ += weight;
  weighted_norm2_ += weight * norm2;
  weighted_loss_ += weight * train_loss;
  ++count_;
  return norm2;
}

std::vector<float> WeightedAccumulator::mean() const {
  if (count_ == 0 || total_weight_ <= 0) return {};
  std::vector<float> m(sum_.size());
  const double inv = 1.0 / total_weight_;
  for (size_t i = 0; i < sum_.size(); ++i) m[i] = static_cast<float>(sum_[i] * inv);
  return m;
}

double WeightedAccumulator::weighted_loss() const {
  return count_ == 0 || total_weight_ <= 0 ? 0.0 : weighted_loss_ / total_weight_;
}

double WeightedAccumulator::gradient_variance() const {
  if (count_ == 0 || total_weight_ <= 0) return 0.0;
  double mean_norm2 = 0.0;
  for (double s : sum_) mean_norm2 += s * s;
  mean_norm2 /= total_weight_ * total_weight_;
  return std::max(0.0, weighted_norm2_ / total_weight_ - mean_norm2);
}

void WeightedAccumulator::reset() { reset(sum_.size()); }

void WeightedAccumulator::reset(size_t dim) {
  sum_.assign(dim, 0.0);
  total_weight_ = weighted_norm2_ = weighted_loss_ = 0.0;
  count_ = 0;
}

}  // namespace edgefed::server
