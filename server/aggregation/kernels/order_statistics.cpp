// Coordinate-wise median and trimmed mean. A coordinate's K values are
// strided by dim in the update matrix, so coordinates are processed in
// tiles of kLanes: the K x kLanes tile is copied to scratch (L1-sized for
// K up to a few hundred) and a sorting network runs on it vertically. Up to
// K = 128 that is the register-blocked bitonic network (blocked_network.hpp),
// which needs far fewer loads and stores per comparator; up to K = 256 the
// list-driven Batcher network pruned to the needed ranks
// (vertical_network.hpp). For large K, where the network's O(K log^2 K)
// comparators cost more than selection, each coordinate's column is
// transposed out and std::nth_element runs on it.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "server/aggregation/kernels/blocked_network.hpp"
#include "server/aggregation/kernels/parallel_blocks.hpp"
#include "server/aggregation/kernels/vertical_network.hpp"

namespace edgefed::server::kernels {
namespace {

using detail::kLanes;
constexpr size_t kNetworkMaxK = 256;  // above: per-column selection
constexpr size_t kColumnBlock = 256;  // coordinates per transposed tile

// NaN becomes +inf: min/max and selection need a strict weak order (a NaN
// would also let std::nth_element run past the column).
inline float ordered(float x) { return std::isnan(x) ? std::numeric_limits<float>::infinity() : x; }

// tile[r*kLanes + c] = U[r][b + c] for c < len; lanes past len are zero.
// Each row is a separate stream 4*dim bytes from the next, too many for the
// hardware prefetcher: the next tile's lines are requested now (next_b is
// its first coordinate, or dim at the end), so they arrive while the network
// runs on this one.
void load_lanes(const UpdateMatrix& u, size_t b, size_t len, size_t next_b, float* tile) {
  const bool prefetch = next_b < u.dim;
  for (size_t r = 0; r < u.k; ++r) {
    const float* row = u.data + r * u.dim + b;
    if (prefetch) {
      const float* next = u.data + r * u.dim + next_b;
      __builtin_prefetch(next);
      __builtin_prefetch(next + std::min(kLanes, u.dim - next_b) - 1);
    }
    float* t = tile + r * kLanes;
    if (len == kLanes) {
      for (size_t c = 0; c < kLanes; ++c) t[c] = ordered(row[c]);
    } else {
      for (size_t c = 0; c < len; ++c) t[c] = ordered(row[c]);
      for (size_t c = len; c < kLanes; ++c) t[c] = 0.0f;
    }
  }
}

// Runs a network that leaves wire i holding the i-th smallest value for every
// needed[i] on tiles of kLanes coordinates; tile_out(tile, len, out + b)
// reads the len coordinates' results off the wires.
template <class TileOut>
void network_path(const UpdateMatrix& u, const std::vector<bool>& needed, float* out, int threads,
                  TileOut tile_out) {
  const bool blocked = u.k <= detail::kBlockedMaxWires && detail::blocked_network_available();
  const auto bnet = blocked ? detail::blocked_network(u.k, needed) : detail::BlockedNetwork{};
  const auto net = blocked ? std::vector<detail::Comparator>{} : detail::pruned_sorting_network(u.k, needed);
  const size_t rows = blocked ? bnet.rows : u.k;
  detail::parallel_blocks(u.dim, kLanes, threads, [&](size_t begin, size_t end) {
    // Rows from k on are the blocked network's +inf padding; it never
    // changes them, so they are filled once.
    std::vector<float> tile(rows * kLanes, std::numeric_limits<float>::infinity());
    for (size_t b = begin; b < end; b += kLanes) {
      const size_t len = std::min(kLanes, end - b);
      load_lanes(u, b, len, b + kLanes < end ? b + kLanes : u.dim, tile.data());
      if (blocked)
        detail::apply_blocked(bnet, tile.data());
      else
        detail::apply_network(net.data(), net.size(), tile.data());
      tile_out(tile.data(), len, out + b);
    }
  });
}

// Copies rows [0,k) of coordinates [b, b+len) into tile[c*k + r].
void transpose_tile(const UpdateMatrix& u, size_t b, size_t len, float* tile) {
  for (size_t r = 0; r < u.k; ++r) {
    const float* row = u.data + r * u.dim + b;
    for (size_t c = 0; c < len; ++c) tile[c * u.k + r] = ordered(row[c]);
  }
}

template <class ColumnFn>
void column_path(const UpdateMatrix& u, float* out, int threads, ColumnFn column) {
  detail::parallel_blocks(u.dim, kColumnBlock, threads, [&](size_t begin, size_t end) {
    std::vector<float> tile(kColumnBlock * u.k);
    for (size_t b = begin; b < end; b += kColumnBlock) {
      const size_t len = std::min(kColumnBlock, end - b);
      transpose_tile(u, b, len, tile.data());
      for (size_t c = 0; c < len; ++c) out[b + c] = column(tile.data() + c * u.k);
    }
  });
}

float mid_mean(float lower, float upper) {
  return static_cast<float>((static_cast<double>(lower) + upper) * 0.5);
}

}  // namespace

void coordinate_median(const UpdateMatrix& u, std::span<float> out, int threads) {
  assert(u.k >= 1 && out.size() == u.dim);
  const size_t k = u.k, mid = k / 2;
  if (k <= kNetworkMaxK) {
    std::vector<bool> needed(k, false);
    needed[mid] = true;
    if (k % 2 == 0) needed[mid - 1] = true;
    network_path(u, needed, out.data(), threads, [k, mid](const float* t, size_t len, float* o) {
      for (size_t c = 0; c < len; ++c) {
        const float upper = t[mid * kLanes + c];
        o[c] = k % 2 ? upper : mid_mean(t[(mid - 1) * kLanes + c], upper);
      }
    });
    return;
  }
  column_path(u, out.data(), threads, [k, mid](float* v) {
    std::nth_element(v, v + mid, v + k);
    return k % 2 ? v[mid] : mid_mean(*std::max_element(v, v + mid), v[mid]);
  });
}

void trimmed_mean(const UpdateMatrix& u, double beta, std::span<float> out, int threads) {
  const size_t k = u.k;
  const size_t cut = static_cast<size_t>(std::floor(beta * static_cast<double>(k)));
  assert(beta >= 0 && beta < 0.5 && k >= 2 * cut + 1 && out.size() == u.dim);
  const double inv = 1.0 / static_cast<double>(k - 2 * cut);
  if (k <= kNetworkMaxK) {
    // Wires below cut and from k-cut hold the extremes; the middle wires hold
    // the kept values in some order, summed in wire order.
    std::vector<bool> needed(k, false);
    for (size_t i = 0; i < cut; ++i) needed[i] = needed[k - 1 - i] = true;
    // Row by row across the lanes: kLanes independent double sums (each
    // still in wire order) instead of one serial chain of adds per lane.
    network_path(u, needed, out.data(), threads, [k, cut, inv](const float* t, size_t len, float* o) {
      double s[kLanes] = {};
      for (size_t r = cut; r < k - cut; ++r)
        for (size_t c = 0; c < kLanes; ++c) s[c] += t[r * kLanes + c];
      for (size_t c = 0; c < len; ++c) o[c] = static_cast<float>(s[c] * inv);
    });
    return;
  }
  column_path(u, out.data(), threads, [k, cut, inv](float* v) {
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
