#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "kernel_test_support.hpp"

using namespace edgefed::server::kernels;
using namespace edgefed::server::kernels::test;

TEST_CASE("pairwise_sq_distances matches direct differences", "[unit][aggregation]") {
  // dim crosses the 1024-coordinate Gram block; k = 1 has only the diagonal.
  const auto [k, dim] = GENERATE(table<size_t, size_t>({{1, 10}, {5, 2500}, {8, 3}, {3, 0}}));
  const auto rows = random_rows(k, dim, unsigned(k * 7 + dim));
  std::vector<double> d1(k * k, -1.0);
  pairwise_sq_distances(matrix(rows, k, dim), d1, 1);
  for (size_t i = 0; i < k; ++i) {
    CHECK(d1[i * k + i] == 0.0);
    for (size_t j = 0; j < k; ++j) {
      double ref = 0.0, norms = 0.0;
      for (size_t c = 0; c < dim; ++c) {
        const double a = rows[i * dim + c], b = rows[j * dim + c];
        ref += (a - b) * (a - b);
        norms += a * a + b * b;
      }
      CHECK(d1[i * k + j] == d1[j * k + i]);
      CHECK(d1[i * k + j] >= 0.0);
      // Stated tolerance: about 1e-7 of the two squared norms.
      CHECK(std::abs(d1[i * k + j] - ref) <= 1e-6 * norms + 1e-12);
    }
  }
  for (int threads : {2, 3}) {
    std::vector<double> d(k * k);
    pairwise_sq_distances(matrix(rows, k, dim), d, threads);
    for (size_t i = 0; i < k * k; ++i) CHECK(d[i] == Approx(d1[i]).epsilon(1e-9).margin(1e-9));
  }
}

TEST_CASE("multi_krum_select keeps the honest rows when a few rows are far outliers", "[unit][aggregation]") {
  const size_t k = 12, f = 3, dim = 300;
  auto rows = random_rows(k, dim, 42);
  // Rows 2, 7 and 11 are scaled / shifted far away (one per attack style).
  for (size_t c = 0; c < dim; ++c) {
    rows[2 * dim + c] *= -10.0f;
    rows[7 * dim + c] += 50.0f;
    rows[11 * dim + c] = 30.0f * float(c % 2);
  }
  std::vector<double> d(k * k);
  pairwise_sq_distances(matrix(rows, k, dim), d, 2);
  const auto chosen = multi_krum_select(d, k, f, k - f);
  REQUIRE(chosen.size() == k - f);
  for (size_t i : chosen) CHECK((i != 2 && i != 7 && i != 11));
  // m = 1 is classic Krum: the best single row is honest too.
  const auto one = multi_krum_select(d, k, f, 1);
  REQUIRE(one.size() == 1);
  CHECK(one[0] == chosen[0]);
}

TEST_CASE("multi_krum_select scores the k-f-2 nearest and breaks ties by index", "[unit][aggregation]") {
  SECTION("all distances equal: indices in order") {
    const size_t k = 6;
    std::vector<double> d(k * k, 1.0);
    for (size_t i = 0; i < k; ++i) d[i * k + i] = 0.0;
    CHECK(multi_krum_select(d, k, 1, 4) == std::vector<size_t>{0, 1, 2, 3});
  }
  SECTION("points on a line") {
    // x = 0, 1, 2, 10, 20 in one dimension; f = 1 -> sum of the 2 nearest.
    const std::vector<double> x{0, 1, 2, 10, 20};
    const size_t k = x.size();
    std::vector<double> d(k * k);
    for (size_t i = 0; i < k; ++i)
      for (size_t j = 0; j < k; ++j) d[i * k + j] = (x[i] - x[j]) * (x[i] - x[j]);
    // Scores: 0 -> 1+4=5, 1 -> 1+1=2, 2 -> 1+4=5, 10 -> 64+81=145, 20 -> 100+324=424.
    CHECK(multi_krum_select(d, k, 1, 5) == std::vector<size_t>{1, 0, 2, 3, 4});
  }
}
