// Coordinate-wise median and trimmed mean. A coordinate's K values are
// strided by dim in the update matrix, so coordinates are processed in
// blocks: a K x block tile is transposed into scratch (each coordinate's K
// values contiguous, the tile fits in L2) and a selection runs per column.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "server/aggregation/kernels/parallel_blocks.hpp"

namespace edgefed::server::kernels {
namespace {

constexpr size_t kBlock = 256;  // coordinates per tile

// Copies rows [0,k) of coordinates [b, b+len) into tile[c*k + r]. NaN
// becomes +inf: selection needs a strict weak order (a NaN would let
// std::nth_element run past the column).
void transpose_tile(const UpdateMatrix& u, size_t b, size_t len, float* tile) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (size_t r = 0; r < u.k; ++r) {
    const float* row = u.data + r * u.dim + b;
    for (size_t c = 0; c < len; ++c) tile[c * u.k + r] = std::isnan(row[c]) ? kInf : row[c];
  }
}

template <class ColumnFn>
void for_each_column(const UpdateMatrix& u, float* out, int threads, ColumnFn column) {
  detail::parallel_blocks(u.dim, kBlock, threads, [&](size_t begin, size_t end) {
    std::vector<float> tile(kBlock * u.k);
    for (size_t b = begin; b < end; b += kBlock) {
      const size_t len = std::min(kBlock, end - b);
      transpose_tile(u, b, len, tile.data());
      for (size_t c = 0; c < len; ++c) out[b + c] = column(tile.data() + c * u.k);
    }
  });
}

}  // namespace

void coordinate_median(const UpdateMatrix& u, std::span<float> out, int threads) {
  assert(u.k >= 1 && out.size() == u.dim);
  const size_t k = u.k, mid = k / 2;
  for_each_column(u, out.data(), threads, [k, mid](float* v) {
    std::nth_element(v, v + mid, v + k);
    if (k % 2 == 1) return v[mid];
    const float lower = *std::max_element(v, v + mid);
    return static_cast<float>((static_cast<double>(lower) + v[mid]) * 0.5);
  });
}

void trimmed_mean(const UpdateMatrix& u, double beta, std::span<float> out, int threads) {
  const size_t k = u.k;
  const size_t cut = static_cast<size_t>(std::floor(beta * static_cast<double>(k)));
  assert(beta >= 0 && beta < 0.5 && k >= 2 * cut + 1 && out.size() == u.dim);
  const double inv = 1.0 / static_cast<double>(k - 2 * cut);
  for_each_column(u, out.data(), threads, [k, cut, inv](float* v) {
    if (cut > 0) {
      // After these, v[0, cut) <= v[cut, k-cut) <= v[k-cut, k).
      std::nth_element(v, v + cut, v + k);
      std::nth_element(v + cut, v + (k - cut), v + k);
    }
    double s = 0.0;
    for (size_t i = cut; i < k - cut; ++i) s += v[i];
    return static_cast<float>(s * inv);
  });
}

}  // namespace edgefed::server::kernels
