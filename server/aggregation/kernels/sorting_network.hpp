// Internal: comparator networks for coordinate-wise order statistics.
// A network is data-independent, so the kernels apply it "vertically": each
// comparator is a SIMD min/max over many coordinates at once, with no
// branches (std::nth_element per coordinate mispredicts on random data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgefed::server::kernels::detail {

// After a comparator, wire a holds min(a, b) and wire b holds max(a, b); a < b.
struct Comparator {
  uint32_t a;
  uint32_t b;
};

// Batcher's odd-even merge sort on n wires (built for the next power of two,
// padding wires treated as +inf and dropped), pruned backwards to the
// comparators some wire in `needed` depends on. Afterwards every wire i with
// needed[i] holds the i-th smallest input; the others hold the remaining
// inputs in some order. REQUIRES: needed.size() == n.
std::vector<Comparator> pruned_sorting_network(size_t n, const std::vector<bool>& needed);

}  // namespace edgefed::server::kernels::detail
