#include "server/aggregation/robust_aggregators.hpp"

#include <algorithm>

namespace edgefed::server {

void MedianAggregator::combine(const kernels::UpdateMatrix& u, std::span<const double>, std::span<float> out) {
  kernels::coordinate_median(u, out, threads());
}

void TrimmedMeanAggregator::combine(const kernels::UpdateMatrix& u, std::span<const double>, std::span<float> out) {
  kernels::trimmed_mean(u, beta_, out, threads());
}

void MultiKrumAggregator::combine(const kernels::UpdateMatrix& u, std::span<const double> w, std::span<float> out) {
  const size_t k = u.k;
  const size_t f = static_cast<size_t>(f_);
  // Fewer than K updates (a version closed by time): never average more
  // than n - f, the most that can all be honest.
  const size_t m = m_ == 0 ? k - f : std::min(static_cast<size_t>(m_), k - f);
  std::vector<double> d(k * k);
  kernels::pairwise_sq_distances(u, d, threads());
  selected_ = kernels::multi_krum_select(d, k, f, m);
  double total = 0.0;
  for (size_t i : selected_) total += w[i];
  std::vector<double> coeff(k, 0.0);
  for (size_t i : selected_) coeff[i] = w[i] / total;
  kernels::weighted_sum(u, coeff, out, threads());
}

}  // namespace edgefed::server
