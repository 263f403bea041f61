#include "server/aggregation/kernels/sorting_network.hpp"

#include <algorithm>

namespace edgefed::server::kernels::detail {

std::vector<Comparator> pruned_sorting_network(size_t n, const std::vector<bool>& needed) {
  size_t pow2 = 1;
  while (pow2 < n) pow2 <<= 1;
  std::vector<Comparator> net;
  // Iterative odd-even merge sort (Knuth 5.3.4, exercise 5.3.4-... / the
  // usual loop form): merges sorted runs of length p into runs of 2p.
  for (size_t p = 1; p < pow2; p <<= 1) {
    for (size_t k = p; k >= 1; k >>= 1) {
      for (size_t j = k % p; j + k < pow2; j += 2 * k) {
        for (size_t i = 0; i < std::min(k, pow2 - j - k); ++i) {
          const size_t a = i + j, b = i + j + k;
          // Same run of 2p, and b is a real wire (a +inf pad never moves).
          if (a / (2 * p) == b / (2 * p) && b < n)
            net.push_back({static_cast<uint32_t>(a), static_cast<uint32_t>(b)});
        }
      }
    }
  }
  // Backward pruning: keep a comparator only if a needed wire depends on it.
  std::vector<bool> live = needed;
  std::vector<Comparator> kept;
  for (auto it = net.rbegin(); it != net.rend(); ++it) {
    if (live[it->a] || live[it->b]) {
      kept.push_back(*it);
      live[it->a] = live[it->b] = true;
    }
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

}  // namespace edgefed::server::kernels::detail
