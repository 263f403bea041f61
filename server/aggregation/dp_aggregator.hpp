// Client-level differential privacy, DP-FedAvg style (McMahan et al. 2018,
// "Learning Differentially Private Recurrent Language Models"):
//   1. each update is clipped to L2 norm C (clip_to_norm);
//   2. the clipped updates are summed with weight s(tau) in (0, 1] (the
//      staleness discount; num_samples is NOT used: it is agent-reported and
//      unbounded, so it would void the sensitivity bound). Adding or
//      removing one agent's update changes the sum by at most C in L2;
//   3. Gaussian noise N(0, (z C)^2) is added to every coordinate of the sum;
//   4. the sum is divided by the fixed denominator D = max(n, K), K the
//      updates a version expects (DP-FedAvg's fixed-denominator estimator:
//      the divisor does not depend on who took part).
// The merged delta's noise per coordinate is therefore z C / D
// (Aggregate::noise_stddev). No privacy accountant: the (epsilon, delta)
// spent is not tracked (docs/aggregation.md).
// Noise: a fixed seed gives one stream per version (seed, round), so runs
// reproduce and no two versions share noise; seed 0 draws from
// std::random_device. Memory: 8 bytes (double sum) + 4 bytes (clip
// scratch) per parameter.
#pragma once

#include <cstdint>
#include <vector>

#include "server/aggregation/aggregator.hpp"
#include "server/aggregation/weighted_accumulator.hpp"

namespace edgefed::server {

class DpFedAvgAggregator final : public Aggregator {
 public:
  // REQUIRES: clip_norm > 0, noise_multiplier > 0, expected_count >= 1.
  DpFedAvgAggregator(size_t dim, double clip_norm, double noise_multiplier, int64_t expected_count, uint64_t seed);
  void add(const Contribution& c) override;
  int64_t count() const override { return sum_.count(); }
  size_t dim() const override { return sum_.dim(); }
  Result<Aggregate> finish(int64_t round) override;
  void reset(size_t dim) override;
  size_t memory_bytes() const override { return sum_.dim() * (sizeof(double) + sizeof(float)); }
  std::string_view name() const override { return enum_name(AggregatorKind::kFedAvg); }

 private:
  double clip_norm_;
  double noise_multiplier_;
  int64_t expected_count_;
  uint64_t seed_;
  WeightedAccumulator sum_;  // sum s(tau) clip(d); its moments give the variance
  std::vector<float> scratch_;
  int64_t clipped_ = 0;
  double total_weight_ = 0.0;   // sum num_samples x s(tau), reported like fedavg
  double weighted_loss_ = 0.0;  // sum w loss
};

}  // namespace edgefed::server
