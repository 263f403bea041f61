// Update-norm clipping, streamed: each update is scaled to L2 norm <= C as
// it arrives (d * min(1, C / ||d||)), before the wrapped strategy sees it.
// Bounds what any one agent can move the model (and is the sensitivity
// bound DP needs). Memory: one model-size float scratch on top of the inner
// strategy.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "server/aggregation/aggregator.hpp"

namespace edgefed::server {

// out = in scaled to norm <= clip_norm; returns true if it was scaled down.
// ||in|| is summed in double. REQUIRES: out.size() == in.size(), clip_norm > 0.
bool clip_to_norm(std::span<const float> in, double clip_norm, std::span<float> out);

class ClippingAggregator final : public Aggregator {
 public:
  // REQUIRES: inner != null, clip_norm > 0.
  ClippingAggregator(std::unique_ptr<Aggregator> inner, double clip_norm);
  void add(const Contribution& c) override;
  int64_t count() const override { return inner_->count(); }
  size_t dim() const override { return inner_->dim(); }
  // The inner result with `clipped` set to the updates scaled down.
  Result<Aggregate> finish(int64_t round) override;
  int64_t min_count() const override { return inner_->min_count(); }
  void reset(size_t dim) override;
  size_t memory_bytes() const override { return inner_->memory_bytes() + scratch_.size() * sizeof(float); }
  std::string_view name() const override { return inner_->name(); }

 private:
  std::unique_ptr<Aggregator> inner_;
  double clip_norm_;
  std::vector<float> scratch_;
  int64_t clipped_ = 0;
};

}  // namespace edgefed::server
