#include "server/aggregation/buffered_aggregator.hpp"

namespace edgefed::server {

BufferedAggregator::BufferedAggregator(size_t dim, int64_t expected_count, int threads)
    : expected_count_(expected_count), threads_(threads), stats_(dim) {}

void BufferedAggregator::add(const Contribution& c) {
  const size_t dim = stats_.dim();
  if (rows_.empty() && expected_count_ > 0) rows_.reserve(static_cast<size_t>(expected_count_) * dim);
  rows_.insert(rows_.end(), c.delta.begin(), c.delta.end());
  weights_.push_back(c.weight);
  stats_.add(c.delta, c.weight, c.train_loss, c.norm2);
}

Result<Aggregate> BufferedAggregator::finish(int64_t) {
  if (count() < min_count()) {
    return Result<Aggregate>(Code::kUnprocessable, std::string(name()) + " needs at least " +
                                                       std::to_string(min_count()) + " updates, has " +
                                                       std::to_string(count()));
  }
  Aggregate a;
  a.delta.assign(stats_.dim(), 0.0f);
  combine({rows_.data(), weights_.size(), stats_.dim()}, weights_, a.delta);
  a.count = stats_.count();
  a.total_weight = stats_.total_weight();
  a.weighted_loss = stats_.weighted_loss();
  a.gradient_variance = stats_.gradient_variance();
  return a;
}

void BufferedAggregator::reset(size_t dim) {
  if (dim != stats_.dim()) {
    std::vector<float>().swap(rows_);  // release: the reservation was for the old size
  } else {
    rows_.clear();  // keep the K x dim reservation for the next version
  }
  weights_.clear();
  stats_.reset(dim);
}

size_t BufferedAggregator::memory_bytes() const {
  return rows_.capacity() * sizeof(float) + stats_.dim() * sizeof(double);
}

}  // namespace edgefed::server
