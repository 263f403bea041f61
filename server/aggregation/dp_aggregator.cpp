#include "server/aggregation/dp_aggregator.hpp"

#include <algorithm>
#include <random>

#include "server/aggregation/clipping.hpp"

namespace edgefed::server {

DpFedAvgAggregator::DpFedAvgAggregator(size_t dim, double clip_norm, double noise_multiplier,
                                       int64_t expected_count, uint64_t seed)
    : clip_norm_(clip_norm),
      noise_multiplier_(noise_multiplier),
      expected_count_(expected_count),
      seed_(seed),
      sum_(dim),
      scratch_(dim) {}

void DpFedAvgAggregator::add(const Contribution& c) {
  if (clip_to_norm(c.delta, clip_norm_, scratch_)) ++clipped_;
  sum_.add(scratch_, std::clamp(c.discount, 0.0, 1.0), c.train_loss);
  total_weight_ += c.weight;
  weighted_loss_ += c.weight * c.train_loss;
}

Result<Aggregate> DpFedAvgAggregator::finish(int64_t round) {
  if (sum_.count() == 0) return Result<Aggregate>(Code::kUnprocessable, "no updates to merge");
  std::seed_seq seq = [&] {
    if (seed_ != 0) {
      const auto r = static_cast<uint64_t>(round);
      return std::seed_seq{static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32),
                           static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32)};
    }
    std::random_device rd;
    return std::seed_seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
  }();
  std::mt19937_64 rng(seq);
  const double sum_stddev = noise_multiplier_ * clip_norm_;
  std::normal_distribution<double> noise(0.0, sum_stddev);
  const double denominator = static_cast<double>(std::max(sum_.count(), expected_count_));
  const std::vector<double>& sum = sum_.weighted_sum();
  Aggregate a;
  a.delta.resize(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) a.delta[i] = static_cast<float>((sum[i] + noise(rng)) / denominator);
  a.count = sum_.count();
  a.total_weight = total_weight_;
  a.weighted_loss = total_weight_ > 0 ? weighted_loss_ / total_weight_ : 0.0;
  a.gradient_variance = sum_.gradient_variance();
  a.clipped = clipped_;
  a.noise_stddev = sum_stddev / denominator;
  return a;
}

void DpFedAvgAggregator::reset(size_t dim) {
  sum_.reset(dim);
  scratch_.assign(dim, 0.0f);
  clipped_ = 0;
  total_weight_ = weighted_loss_ = 0.0;
}

}  // namespace edgefed::server
