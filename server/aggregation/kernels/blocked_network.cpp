#include "server/aggregation/kernels/blocked_network.hpp"

#include <array>
#include <cassert>
#include <cstdint>
#include <utility>

#include "server/aggregation/kernels/vertical_network.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace edgefed::server::kernels::detail {
namespace {

// Register indices of one comparator: min goes to a, max to b (a < b as wires).
struct Pair {
  uint8_t a;
  uint8_t b;
};

// Batcher's odd-even merge sort of 16 wires (63 comparators), the same loop
// as pruned_sorting_network without padding or pruning.
constexpr std::array<Pair, 63> sort16() {
  std::array<Pair, 63> net{};
  size_t n = 0;
  for (size_t p = 1; p < 16; p <<= 1)
    for (size_t k = p; k >= 1; k >>= 1)
      for (size_t j = k % p; j + k < 16; j += 2 * k)
        for (size_t i = 0; i < std::min(k, 16 - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p))
            net[n++] = {static_cast<uint8_t>(i + j), static_cast<uint8_t>(i + j + k)};
  if (n != net.size()) throw "sort16: wrong comparator count";  // compile-time check
  return net;
}

// Half-cleaners at distances d = half/2, ..., 1 on registers [first, first +
// half): pairs (i, i+d) within aligned runs of 2d.
template <size_t N>
constexpr void cleaners(std::array<Pair, N>& net, size_t& n, size_t first, size_t half) {
  for (size_t d = half / 2; d >= 1; d /= 2)
    for (size_t i = 0; i < half; ++i)
      if (i % (2 * d) < d) net[n++] = {static_cast<uint8_t>(first + i), static_cast<uint8_t>(first + i + d)};
}

// Row pass: the half-cleaners at distances 8, 4, 2, 1 of an aligned block of
// 16 (which after the column pass holds a bitonic sequence).
constexpr std::array<Pair, 32> row16() {
  std::array<Pair, 32> net{};
  size_t n = 0;
  cleaners(net, n, 0, 16);
  return net;
}

// Column pass of a merge into runs of B = 16R wires, on one group: register i
// is wire 16i + c for i < R/2 (lower run) and 16i + 15 - c above (upper run).
// The flip compares wire x with B-1-x, i.e. register i with R-1-i; the
// half-cleaners at wire distances B/4 .. 16 are register distances R/4 .. 1
// within each half. Both directions keep min on the lower wire.
constexpr size_t column_size(size_t r) {
  size_t levels = 0;
  for (size_t h = r / 2; h > 1; h /= 2) ++levels;
  return r / 2 + (r / 2) * levels;  // flip + log2(R/2) levels of R/2 pairs
}

template <size_t R>
constexpr std::array<Pair, column_size(R)> column() {
  std::array<Pair, column_size(R)> net{};
  size_t n = 0;
  for (size_t i = 0; i < R / 2; ++i) net[n++] = {static_cast<uint8_t>(i), static_cast<uint8_t>(R - 1 - i)};
  cleaners(net, n, 0, R / 2);
  cleaners(net, n, R / 2, R / 2);
  if (n != net.size()) throw "column: wrong comparator count";
  return net;
}

constexpr auto kSort16 = sort16();
constexpr auto kRow16 = row16();
template <size_t R>
constexpr auto kColumn = column<R>();

#if defined(__x86_64__)
namespace sse {
struct V {
  using Reg = __m128;
  static constexpr size_t kWidth = 4;
  static Reg load(const float* p) { return _mm_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm_storeu_ps(p, x); }
  static Reg min(Reg a, Reg b) { return _mm_min_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm_max_ps(a, b); }
};
#include "server/aggregation/kernels/blocked_network_passes.inc"
}  // namespace sse

// The AVX2 copy of the passes: compiled for AVX2 here, chosen at run time
// (clang, which builds the fuzz targets, spells the same thing differently).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
namespace avx2 {
struct V {
  using Reg = __m256;
  static constexpr size_t kWidth = 8;
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm256_storeu_ps(p, x); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
};
#include "server/aggregation/kernels/blocked_network_passes.inc"
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

bool blocked_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#elif defined(__aarch64__)
// NEON is part of every AArch64 CPU: no run-time check. Updates reach the
// kernels only after the server refused non-finite values, so vminq/vmaxq's
// NaN rule (NaN wins) and SSE's (second operand wins) never differ here.
namespace neon {
struct V {
  using Reg = float32x4_t;
  static constexpr size_t kWidth = 4;
  static Reg load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, Reg x) { vst1q_f32(p, x); }
  static Reg min(Reg a, Reg b) { return vminq_f32(a, b); }
  static Reg max(Reg a, Reg b) { return vmaxq_f32(a, b); }
};
#include "server/aggregation/kernels/blocked_network_passes.inc"
}  // namespace neon
#endif

}  // namespace

bool blocked_network_available() {
#if defined(__x86_64__) || defined(__aarch64__)
  return true;
#else
  return false;
#endif
}

BlockedNetwork blocked_network(size_t k, const std::vector<bool>& needed) {
  assert(k >= 1 && k <= kBlockedMaxWires && needed.size() == k);
  BlockedNetwork net;
  net.k = k;
  net.rows = 16;
  while (net.rows < k) net.rows *= 2;
  net.sort_last.assign(net.rows / 16, false);
  for (size_t i = 0; i < k; ++i)
    if (needed[i]) net.sort_last[i / 16] = true;
  return net;
}

void apply_blocked([[maybe_unused]] const BlockedNetwork& net, [[maybe_unused]] float* tile) {
#if defined(__x86_64__)
  if (blocked_has_avx2()) return avx2::apply(net, tile);
  sse::apply(net, tile);
#elif defined(__aarch64__)
  neon::apply(net, tile);
#else
  assert(false && "apply_blocked without blocked_network_available()");
#endif
}

}  // namespace edgefed::server::kernels::detail
