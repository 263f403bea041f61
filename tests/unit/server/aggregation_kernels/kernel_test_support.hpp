// Random update matrices and plain double-precision references shared by
// the kernel tests.
#pragma once

#include <cstring>
#include <random>
#include <vector>

#include "server/aggregation/kernels/aggregation_kernels.hpp"

namespace edgefed::server::kernels::test {

// K x dim floats, row-major; values N(0,1) or, with `ties`, small integers
// so many coordinates hold repeated values.
inline std::vector<float> random_rows(size_t k, size_t dim, unsigned seed, bool ties = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(-2, 2);
  std::vector<float> v(k * dim);
  for (auto& x : v) x = ties ? static_cast<float>(small(rng)) : normal(rng);
  return v;
}

inline UpdateMatrix matrix(const std::vector<float>& v, size_t k, size_t dim) {
  return UpdateMatrix{v.data(), k, dim};
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace edgefed::server::kernels::test
