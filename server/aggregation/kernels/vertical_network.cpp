#include "server/aggregation/kernels/vertical_network.hpp"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgefed::server::kernels::detail {
namespace {

#if defined(__x86_64__)
// Explicit min/max: written as scalar ternaries, GCC turns the lane loop into
// compare-and-branch conditional stores instead of minps/maxps.
static_assert(kLanes % 8 == 0);

__attribute__((target("avx2"))) void apply_avx2(const Comparator* net, size_t size, float* tile) {
  for (size_t c = 0; c < size; ++c) {
    float* x = tile + net[c].a * kLanes;
    float* y = tile + net[c].b * kLanes;
    for (size_t l = 0; l < kLanes; l += 8) {
      const __m256 p = _mm256_loadu_ps(x + l), q = _mm256_loadu_ps(y + l);
      _mm256_storeu_ps(x + l, _mm256_min_ps(p, q));
      _mm256_storeu_ps(y + l, _mm256_max_ps(p, q));
    }
  }
}

void apply_sse(const Comparator* net, size_t size, float* tile) {
  for (size_t c = 0; c < size; ++c) {
    float* x = tile + net[c].a * kLanes;
    float* y = tile + net[c].b * kLanes;
    for (size_t l = 0; l < kLanes; l += 4) {
      const __m128 p = _mm_loadu_ps(x + l), q = _mm_loadu_ps(y + l);
      _mm_storeu_ps(x + l, _mm_min_ps(p, q));
      _mm_storeu_ps(y + l, _mm_max_ps(p, q));
    }
  }
}

bool vertical_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

[[maybe_unused]] void apply_scalar(const Comparator* net, size_t size, float* tile) {
  for (size_t c = 0; c < size; ++c) {
    float* x = tile + net[c].a * kLanes;
    float* y = tile + net[c].b * kLanes;
    for (size_t l = 0; l < kLanes; ++l) {
      const float p = x[l], q = y[l];
      x[l] = std::min(p, q);
      y[l] = std::max(p, q);
    }
  }
}

}  // namespace

void apply_network(const Comparator* net, size_t size, float* tile) {
#if defined(__x86_64__)
  if (vertical_has_avx2()) return apply_avx2(net, size, tile);
  return apply_sse(net, size, tile);
#else
  apply_scalar(net, size, tile);
#endif
}

}  // namespace edgefed::server::kernels::detail
