#include "server/aggregation/fedavg_aggregator.hpp"

namespace edgefed::server {

void FedAvgAggregator::add(const Contribution& c) { acc_.add(c.delta, c.weight, c.train_loss, c.norm2); }

Result<Aggregate> FedAvgAggregator::finish(int64_t) {
  if (acc_.count() == 0) return Result<Aggregate>(Code::kUnprocessable, "no updates to merge");
  Aggregate a;
  a.delta = acc_.mean();
  a.count = acc_.count();
  a.total_weight = acc_.total_weight();
  a.weighted_loss = acc_.weighted_loss();
  a.gradient_variance = acc_.gradient_variance();
  return a;
}

}  // namespace edgefed::server
