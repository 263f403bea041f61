#include <cmath>

#include <catch2/catch.hpp>

#include "kernel_test_support.hpp"

using namespace edgefed::server::kernels;
using namespace edgefed::server::kernels::test;
namespace kernels = edgefed::server::kernels;  // qualified: ADL would pick std::accumulate

TEST_CASE("accumulate adds w*x into a double accumulator exactly", "[unit][aggregation]") {
  const size_t dim = 1031;
  const auto x = random_rows(1, dim, 1);
  std::vector<double> acc(dim, 0.5);
  kernels::accumulate(acc, x, 3.0);
  kernels::accumulate(acc, x, -0.25);
  for (size_t i = 0; i < dim; ++i) CHECK(acc[i] == 0.5 + 3.0 * double(x[i]) + -0.25 * double(x[i]));

  SECTION("accumulate_with_norm does the same and returns ||x||^2") {
    std::vector<double> acc2(dim, 0.5);
    double ref = 0.0;
    for (float v : x) ref += double(v) * v;
    CHECK(accumulate_with_norm(acc2, x, 3.0) == Approx(ref).epsilon(1e-13));
    for (size_t i = 0; i < dim; ++i) CHECK(acc2[i] == 0.5 + 3.0 * double(x[i]));
  }
  SECTION("float accumulator") {
    std::vector<float> f(dim, 1.0f);
    kernels::accumulate(f, x, 2.0f);
    for (size_t i = 0; i < dim; ++i) CHECK(f[i] == 1.0f + 2.0f * x[i]);
  }
  SECTION("empty spans are a no-op") {
    std::vector<double> none;
    kernels::accumulate(none, std::span<const float>{}, 1.0);
    CHECK(accumulate_with_norm(none, std::span<const float>{}, 1.0) == 0.0);
  }
}

TEST_CASE("weighted_sum matches a double reference and is independent of threads", "[unit][aggregation]") {
  // Dims around the 4096-coordinate block and the 4-row unroll.
  const auto [k, dim] = GENERATE(table<size_t, size_t>({{1, 7}, {3, 4097}, {4, 1}, {9, 8195}, {6, 0}}));
  const auto rows = random_rows(k, dim, unsigned(k * 131 + dim));
  std::vector<double> w(k);
  for (size_t r = 0; r < k; ++r) w[r] = 0.5 + double(r) / 3.0;
  std::vector<float> out1(dim, 99.0f);
  weighted_sum(matrix(rows, k, dim), w, out1, 1);
  for (size_t i = 0; i < dim; ++i) {
    double ref = 0.0, mag = 0.0;
    for (size_t r = 0; r < k; ++r) {
      ref += w[r] * rows[r * dim + i];
      mag += std::abs(w[r] * rows[r * dim + i]);
    }
    // Stated tolerance: float accumulation, about k ulps of sum |w x|.
    CHECK(std::abs(out1[i] - ref) <= 1e-7 * double(k + 1) * mag + 1e-30);
  }
  for (int threads : {2, 3}) {
    std::vector<float> out(dim, -1.0f);
    weighted_sum(matrix(rows, k, dim), w, out, threads);
    CHECK(same_bits(out, out1));
  }
}
