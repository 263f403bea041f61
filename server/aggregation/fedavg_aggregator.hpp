// FedAvg / FedBuff merge: the weighted mean sum(w_i d_i) / sum(w_i), streamed
// through a WeightedAccumulator, O(model size) memory (2 doubles per
// parameter while accumulating). Normalised by the total WEIGHT (num_samples x
// s(tau)), not by the number of updates: a 10-sample update must not count
// as much as a 1000-sample one (the bug NVIDIA FLARE's FedBuff had).
#pragma once

#include "server/aggregation/aggregator.hpp"
#include "server/aggregation/weighted_accumulator.hpp"

namespace edgefed::server {

class FedAvgAggregator final : public Aggregator {
 public:
  explicit FedAvgAggregator(size_t dim) : acc_(dim) {}
  void add(const Contribution& c) override;
  int64_t count() const override { return acc_.count(); }
  size_t dim() const override { return acc_.dim(); }
  Result<Aggregate> finish(int64_t round) override;
  void reset(size_t dim) override { acc_.reset(dim); }
  size_t memory_bytes() const override { return acc_.dim() * sizeof(double); }
  std::string_view name() const override { return enum_name(AggregatorKind::kFedAvg); }

 private:
  WeightedAccumulator acc_;
};

}  // namespace edgefed::server
