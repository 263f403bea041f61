// sum_squares and norm_and_dot against a long double reference, for lengths
// around the lane count and a long vector with a wide spread of magnitudes.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "codec_test_util.hpp"
#include "edgefed/float_sums.hpp"

using namespace edgefed;

TEST_CASE("sum_squares and norm_and_dot match a long double reference", "[float_sums]") {
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{17}, size_t{1000}, size_t{100003}}) {
    const auto x = test::random_delta(n, 11 + n, 3.0f);
    const auto y = test::random_delta(n, 12 + n, 0.5f);
    long double n2 = 0, dot = 0;
    for (size_t i = 0; i < n; ++i) {
      n2 += static_cast<long double>(x[i]) * x[i];
      dot += static_cast<long double>(x[i]) * y[i];
    }
    INFO("n = " << n);
    const double tol = 1e-13 * static_cast<double>(n2) + 1e-300;
    CHECK(std::abs(sum_squares(x) - static_cast<double>(n2)) <= tol);
    const NormAndDot both = norm_and_dot(x, y);
    CHECK(std::abs(both.norm2 - static_cast<double>(n2)) <= tol);
    long double abs_dot = 0;
    for (size_t i = 0; i < n; ++i) abs_dot += std::abs(static_cast<long double>(x[i]) * y[i]);
    CHECK(std::abs(both.dot - static_cast<double>(dot)) <= 1e-13 * static_cast<double>(abs_dot) + 1e-300);
  }
}

TEST_CASE("sum_squares of a known vector is exact", "[float_sums]") {
  std::vector<float> x(13, 2.0f);
  x[12] = -3.0f;
  CHECK(sum_squares(x) == 12 * 4.0 + 9.0);
  const std::vector<float> y(13, 0.5f);
  const NormAndDot both = norm_and_dot(x, y);
  CHECK(both.norm2 == 57.0);
  CHECK(both.dot == 12 * 1.0 - 1.5);
}
