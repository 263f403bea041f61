// Robust strategies over the buffered K updates (BufferedAggregator):
//   median        coordinate-wise median (Yin et al. 2018); weights ignored
//   trimmed-mean  per coordinate drop the floor(beta n) smallest and largest
//                 values, average the rest unweighted (Yin et al. 2018)
//   krum          multi-Krum (Blanchard et al. 2017): score each update by
//                 the sum of squared distances to its n - f - 2 nearest
//                 others, keep the m lowest (m = 0: n - f) and average those
//                 weighted by num_samples x s(tau)
// Weights are ignored by median and trimmed mean on purpose: a hostile agent
// controls its reported num_samples, and a weighted median would let it
// claim the middle. Staleness therefore does not discount them either.
#pragma once

#include "server/aggregation/buffered_aggregator.hpp"

namespace edgefed::server {

class MedianAggregator final : public BufferedAggregator {
 public:
  using BufferedAggregator::BufferedAggregator;
  std::string_view name() const override { return enum_name(AggregatorKind::kMedian); }

 private:
  void combine(const kernels::UpdateMatrix& u, std::span<const double> w, std::span<float> out) override;
};

class TrimmedMeanAggregator final : public BufferedAggregator {
 public:
  // REQUIRES: 0 <= beta < 0.5 (so at least one value per coordinate remains).
  TrimmedMeanAggregator(size_t dim, int64_t expected_count, int threads, double beta)
      : BufferedAggregator(dim, expected_count, threads), beta_(beta) {}
  std::string_view name() const override { return enum_name(AggregatorKind::kTrimmedMean); }

 private:
  void combine(const kernels::UpdateMatrix& u, std::span<const double> w, std::span<float> out) override;
  double beta_;
};

class MultiKrumAggregator final : public BufferedAggregator {
 public:
  // REQUIRES: f >= 0, m >= 0 (0 = n - f).
  MultiKrumAggregator(size_t dim, int64_t expected_count, int threads, int64_t f, int64_t m)
      : BufferedAggregator(dim, expected_count, threads), f_(f), m_(m) {}
  std::string_view name() const override { return enum_name(AggregatorKind::kKrum); }
  int64_t min_count() const override { return 2 * f_ + 3; }
  // Indices chosen by the last finish() (ascending score), for tests and logs.
  const std::vector<size_t>& selected() const { return selected_; }

 private:
  void combine(const kernels::UpdateMatrix& u, std::span<const double> w, std::span<float> out) override;
  int64_t f_;
  int64_t m_;
  std::vector<size_t> selected_;
};

}  // namespace edgefed::server
