// Synthetic client updates for the aggregation benchmark: reproducible
// standard-normal values, produced fast enough that a 1000-client stream is
// not dominated by the generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgefed::bench {

// A pool of dim + 65536 N(0,1) floats drawn once (seeded). Update r is the
// pool window starting at a per-row offset, times a per-row factor in
// [0.5, 1.5] with a random sign: each coordinate's K values are K distinct
// normal draws, and producing an update costs one pass over memory.
class SyntheticUpdates {
 public:
  SyntheticUpdates(size_t dim, uint64_t seed);
  size_t dim() const { return dim_; }
  // Writes update `row` into out (out.size() == dim()).
  void fill(size_t row, std::span<float> out) const;
  // Example count (FedAvg weight) of update `row`: 1 .. 1000.
  double weight(size_t row) const;

 private:
  size_t dim_;
  uint64_t seed_;
  std::vector<float> pool_;
};

}  // namespace edgefed::bench
