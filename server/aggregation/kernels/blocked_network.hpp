// Internal: a sorting network for up to 128 wires run in register-resident
// passes over a tile (wire r at tile + r*kLanes, as in vertical_network.hpp).
// The list-driven network (apply_network) loads and stores both wires of
// every comparator, about four memory operations per min/max pair; here each
// pass loads a group of up to 16 wires into vector registers, runs a fixed
// comparator pattern on them and stores them once.
//
// The network is Batcher's bitonic sort in its "flip" form (merging two
// ascending runs compares wire i with wire B-1-i, then half-cleaners), which
// keeps every run ascending, so +inf padding wires above k never move:
//   1. each aligned block of 16 wires is sorted (Batcher's 63-comparator
//      odd-even merge sort) in registers;
//   2. each merge into runs of B = 32, 64, 128 wires is two passes: the flip
//      and the half-cleaners at distances >= 16 act within the B/16 wires
//      {c + 16m in the lower half} u {15-c + 16m in the upper half} (one group
//      per c), then the half-cleaners at distances 8, 4, 2, 1 act within each
//      aligned block of 16.
// After the column pass of the last merge every aligned block of 16 holds the
// right set of ranks, so the last row pass only sorts the blocks that hold a
// needed rank (for a median, one block).
#pragma once

#include <cstddef>
#include <vector>

namespace edgefed::server::kernels::detail {

inline constexpr size_t kBlockedMaxWires = 128;

struct BlockedNetwork {
  size_t k = 0;                  // real wires; tile rows [k, rows) hold +inf
  size_t rows = 0;               // next power of two >= max(k, 16)
  std::vector<bool> sort_last;   // per block of 16: sort it in the last merge
};

// Whether this build and CPU have a blocked implementation (x86-64: AVX2 or
// SSE4.2); otherwise callers use apply_network.
bool blocked_network_available();

// REQUIRES: 1 <= k <= kBlockedMaxWires, needed.size() == k. Afterwards every
// wire i with needed[i] holds the i-th smallest input and every aligned block
// of 16 wires holds the ranks of its wire indices in some order.
BlockedNetwork blocked_network(size_t k, const std::vector<bool>& needed);

// REQUIRES: blocked_network_available(); tile has net.rows rows and rows
// [net.k, net.rows) hold +inf (they are read but stay +inf).
void apply_blocked(const BlockedNetwork& net, float* tile);

}  // namespace edgefed::server::kernels::detail
