// Batch weighted sum over K buffered updates. The output is processed in
// blocks small enough to stay in L1/L2 while every row streams through it
// once, so the K*dim update bytes are read exactly once from memory.
#include <algorithm>
#include <cassert>

#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "server/aggregation/kernels/parallel_blocks.hpp"

namespace edgefed::server::kernels {
namespace {

constexpr size_t kBlock = 4096;  // floats of output per block (16 KiB)

// The loop is compiled twice: for the baseline (x86-64-v2) and inlined into
// an AVX2 clone picked at run time, as in vertical_network.cpp. Without
// -ffp-contract both do the same multiplies and adds in the same order, so
// their results are bit-identical.
[[gnu::always_inline]] inline void weighted_sum_body(const UpdateMatrix& u, std::span<const double> w, float* out,
                                                     size_t begin, size_t end) {
  for (size_t b = begin; b < end; b += kBlock) {
    const size_t len = std::min(kBlock, end - b);
    const bool more = b + kBlock < end;
    float* __restrict o = out + b;
    std::fill(o, o + len, 0.0f);
    size_t r = 0;
    // Four rows per pass: one load/store of the output block per four rows.
    for (; r + 4 <= u.k; r += 4) {
      const float* __restrict x0 = u.data + r * u.dim + b;
      const float* __restrict x1 = x0 + u.dim;
      const float* __restrict x2 = x1 + u.dim;
      const float* __restrict x3 = x2 + u.dim;
      // Each row slice is a new 16 KiB stream: start the next block's
      // first lines now so the hardware prefetcher finds them warm.
      if (more) {
        __builtin_prefetch(x0 + kBlock);
        __builtin_prefetch(x1 + kBlock);
        __builtin_prefetch(x2 + kBlock);
        __builtin_prefetch(x3 + kBlock);
      }
      const float w0 = static_cast<float>(w[r]), w1 = static_cast<float>(w[r + 1]);
      const float w2 = static_cast<float>(w[r + 2]), w3 = static_cast<float>(w[r + 3]);
      for (size_t i = 0; i < len; ++i) o[i] = o[i] + w0 * x0[i] + w1 * x1[i] + w2 * x2[i] + w3 * x3[i];
    }
    for (; r < u.k; ++r) {
      const float* __restrict x0 = u.data + r * u.dim + b;
      const float w0 = static_cast<float>(w[r]);
      for (size_t i = 0; i < len; ++i) o[i] = o[i] + w0 * x0[i];
    }
  }
}

void range_baseline(const UpdateMatrix& u, std::span<const double> w, float* out, size_t begin, size_t end) {
  weighted_sum_body(u, w, out, begin, end);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) void range_avx2(const UpdateMatrix& u, std::span<const double> w, float* out,
                                                 size_t begin, size_t end) {
  weighted_sum_body(u, w, out, begin, end);
}
#endif

void weighted_sum_range(const UpdateMatrix& u, std::span<const double> w, float* out, size_t begin, size_t end) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return range_avx2(u, w, out, begin, end);
#endif
  range_baseline(u, w, out, begin, end);
}

}  // namespace

void weighted_sum(const UpdateMatrix& u, std::span<const double> w, std::span<float> out,
                  int threads) {
  assert(out.size() == u.dim && w.size() == u.k);
  detail::parallel_blocks(u.dim, kBlock, threads, [&](size_t b, size_t e) {
    weighted_sum_range(u, w, out.data(), b, e);
  });
}

}  // namespace edgefed::server::kernels
