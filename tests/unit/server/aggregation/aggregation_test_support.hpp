// Random small inputs and a tolerance check for the strategy tests.
#pragma once

#include <catch2/catch.hpp>

#include <random>
#include <vector>

namespace edgefed::testing {

using Updates = std::vector<std::vector<float>>;

inline Updates random_updates(size_t k, size_t dim, unsigned seed, float stddev = 0.1f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, stddev);
  Updates u(k, std::vector<float>(dim));
  for (auto& row : u) {
    for (auto& x : row) x = n(rng);
  }
  return u;
}

// Like num_samples x s(tau): integers 10..500 times a discount in (0, 1].
inline std::vector<double> random_weights(size_t k, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> samples(10, 500);
  std::uniform_int_distribution<int> tau(0, 5);
  std::vector<double> w(k);
  for (auto& x : w) x = samples(rng) / std::sqrt(1.0 + tau(rng));
  return w;
}

// |got - want| <= tol * (1 + |want|) per coordinate.
inline void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("coordinate " << i << ": " << got[i] << " vs " << want[i]);
    CHECK(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])));
  }
}

}  // namespace edgefed::testing
