// The common part of the robust strategies (median, trimmed mean,
// multi-Krum): they need every update of the version at once, so add()
// copies each delta into a K x dim float matrix (memory: K x model size x 4
// bytes, reserved for the expected K at the first add) and keeps a
// WeightedAccumulator beside it (8 bytes per parameter) for the weighted
// loss and gradient variance the engine reports. finish() hands the matrix
// to combine().
#pragma once

#include <vector>

#include "server/aggregation/aggregator.hpp"
#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "server/aggregation/weighted_accumulator.hpp"

namespace edgefed::server {

class BufferedAggregator : public Aggregator {
 public:
  // expected_count: K, the rows to reserve (0 = grow as needed).
  BufferedAggregator(size_t dim, int64_t expected_count, int threads);
  void add(const Contribution& c) final;
  int64_t count() const final { return stats_.count(); }
  size_t dim() const final { return stats_.dim(); }
  Result<Aggregate> finish(int64_t round) final;
  void reset(size_t dim) final;
  size_t memory_bytes() const final;

 protected:
  // Writes the merged delta of the K rows to out (size dim). weights[k] is
  // row k's num_samples x s(tau). REQUIRES: u.k >= min_count().
  virtual void combine(const kernels::UpdateMatrix& u, std::span<const double> weights, std::span<float> out) = 0;
  int threads() const { return threads_; }

 private:
  int64_t expected_count_;
  int threads_;
  std::vector<float> rows_;
  std::vector<double> weights_;
  WeightedAccumulator stats_;
};

}  // namespace edgefed::server
