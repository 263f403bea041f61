// Streaming accumulation: one pass over an update, memory-bandwidth bound.
// Plain loops the compiler vectorises (float -> double conversion included).
#include <cassert>

#include "server/aggregation/kernels/aggregation_kernels.hpp"

namespace edgefed::server::kernels {

void accumulate(std::span<double> acc, std::span<const float> x, double w) {
  assert(acc.size() == x.size());
  double* __restrict a = acc.data();
  const float* __restrict p = x.data();
  const size_t n = acc.size();
  for (size_t i = 0; i < n; ++i) a[i] += w * static_cast<double>(p[i]);
}

void accumulate(std::span<float> acc, std::span<const float> x, float w) {
  assert(acc.size() == x.size());
  float* __restrict a = acc.data();
  const float* __restrict p = x.data();
  const size_t n = acc.size();
  for (size_t i = 0; i < n; ++i) a[i] += w * p[i];
}

double accumulate_with_norm(std::span<double> acc, std::span<const float> x, double w) {
  assert(acc.size() == x.size());
  double* __restrict a = acc.data();
  const float* __restrict p = x.data();
  const size_t n = acc.size();
  // Two partial sums keep the reduction vectorisable without -ffast-math.
  double n0 = 0.0, n1 = 0.0;
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    const double x0 = p[i], x1 = p[i + 1];
    a[i] += w * x0;
    a[i + 1] += w * x1;
    n0 += x0 * x0;
    n1 += x1 * x1;
  }
  for (; i < n; ++i) {
    const double x0 = p[i];
    a[i] += w * x0;
    n0 += x0 * x0;
  }
  return n0 + n1;
}

}  // namespace edgefed::server::kernels
