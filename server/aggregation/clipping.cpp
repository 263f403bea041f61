#include "server/aggregation/clipping.hpp"

#include <algorithm>
#include <cmath>

namespace edgefed::server {

bool clip_to_norm(std::span<const float> in, double clip_norm, std::span<float> out) {
  double norm2 = 0.0;
  for (float x : in) norm2 += static_cast<double>(x) * x;
  const double norm = std::sqrt(norm2);
  if (norm <= clip_norm) {
    std::copy(in.begin(), in.end(), out.begin());
    return false;
  }
  const double scale = clip_norm / norm;
  for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(in[i] * scale);
  return true;
}

ClippingAggregator::ClippingAggregator(std::unique_ptr<Aggregator> inner, double clip_norm)
    : inner_(std::move(inner)), clip_norm_(clip_norm), scratch_(inner_->dim()) {}

void ClippingAggregator::add(const Contribution& c) {
  if (clip_to_norm(c.delta, clip_norm_, scratch_)) ++clipped_;
  Contribution clipped = c;
  clipped.delta = scratch_;
  inner_->add(clipped);
}

Result<Aggregate> ClippingAggregator::finish(int64_t round) {
  auto a = inner_->finish(round);
  if (a.is_ok()) a->clipped = clipped_;
  return a;
}

void ClippingAggregator::reset(size_t dim) {
  inner_->reset(dim);
  scratch_.assign(dim, 0.0f);
  clipped_ = 0;
}

}  // namespace edgefed::server
