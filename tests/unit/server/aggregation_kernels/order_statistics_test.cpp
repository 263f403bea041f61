#include <algorithm>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "kernel_test_support.hpp"

using namespace edgefed::server::kernels;
using namespace edgefed::server::kernels::test;

namespace {

std::vector<float> column(const std::vector<float>& rows, size_t k, size_t dim, size_t i) {
  std::vector<float> c(k);
  for (size_t r = 0; r < k; ++r) c[r] = rows[r * dim + i];
  std::sort(c.begin(), c.end());
  return c;
}

float reference_median(std::vector<float> c) {
  const size_t k = c.size();
  if (k % 2 == 1) return c[k / 2];
  return static_cast<float>((double(c[k / 2 - 1]) + c[k / 2]) * 0.5);
}

double reference_trimmed(const std::vector<float>& c, double beta) {
  const auto cut = static_cast<size_t>(std::floor(beta * double(c.size())));
  double s = 0.0;
  for (size_t i = cut; i < c.size() - cut; ++i) s += c[i];
  return s / double(c.size() - 2 * cut);
}

}  // namespace

TEST_CASE("coordinate_median equals the sorted-column median for any thread count", "[unit][aggregation]") {
  // Odd and even K, K = 1, dims that are not a multiple of the 256 tile.
  const auto [k, dim, ties] = GENERATE(table<size_t, size_t, bool>(
      {{1, 5, false}, {2, 300, false}, {3, 513, true}, {10, 257, false}, {11, 40, true}, {4, 0, false}}));
  const auto rows = random_rows(k, dim, unsigned(k * 17 + dim), ties);
  std::vector<float> out1(dim);
  coordinate_median(matrix(rows, k, dim), out1, 1);
  for (size_t i = 0; i < dim; ++i) CHECK(out1[i] == reference_median(column(rows, k, dim, i)));
  for (int threads : {2, 3}) {
    std::vector<float> out(dim);
    coordinate_median(matrix(rows, k, dim), out, threads);
    CHECK(same_bits(out, out1));
  }
}

TEST_CASE("trimmed_mean drops floor(beta*k) from each end and averages the rest", "[unit][aggregation]") {
  const auto [k, dim, beta, ties] = GENERATE(table<size_t, size_t, double, bool>(
      {{1, 9, 0.0, false}, {5, 300, 0.0, false}, {10, 257, 0.1, false}, {10, 600, 0.25, true},
       {7, 33, 0.49, false}, {20, 0, 0.1, false}}));
  const auto rows = random_rows(k, dim, unsigned(k * 29 + dim), ties);
  std::vector<float> out1(dim);
  trimmed_mean(matrix(rows, k, dim), beta, out1, 1);
  for (size_t i = 0; i < dim; ++i) {
    // The kernel sums in selection order, the reference in sorted order.
    CHECK(out1[i] == Approx(reference_trimmed(column(rows, k, dim, i), beta)).margin(1e-6));
  }
  for (int threads : {2, 3}) {
    std::vector<float> out(dim);
    trimmed_mean(matrix(rows, k, dim), beta, out, threads);
    CHECK(same_bits(out, out1));
  }
}

TEST_CASE("trimmed mean ignores extreme rows that median also ignores", "[unit][aggregation]") {
  // Five honest rows at 1,2,3,4,5 and one huge outlier: beta 1/6 cuts it.
  const size_t k = 6, dim = 3;
  std::vector<float> rows;
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 1e30f}) rows.insert(rows.end(), dim, v);
  std::vector<float> med(dim), trim(dim);
  coordinate_median(matrix(rows, k, dim), med);
  trimmed_mean(matrix(rows, k, dim), 1.0 / 6.0 + 1e-9, trim);
  for (size_t i = 0; i < dim; ++i) {
    CHECK(med[i] == 3.5f);
    CHECK(trim[i] == 3.5f);  // mean of 2,3,4,5
  }
}

TEST_CASE("NaN in an update counts as +inf instead of breaking the selection", "[unit][aggregation]") {
  const size_t k = 5, dim = 2;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> rows{1, nan, nan, 2, 3, 3, 4, 4, 5, nan};
  std::vector<float> med(dim);
  coordinate_median(matrix(rows, k, dim), med);
  CHECK(med[0] == 4.0f);  // 1 3 4 5 +inf
  CHECK(med[1] == 4.0f);  // 2 3 4 +inf +inf
}

TEST_CASE("median and trimmed mean are exact for K across the blocked network's sizes", "[unit][aggregation]") {
  // K <= 128 runs the register-blocked bitonic network (runs of 16, 32, 64,
  // 128 wires, with +inf padding above K), 129..256 the pruned Batcher list;
  // values include ties, NaN (as +inf) and infinities; dim leaves a partial tile.
  const size_t k = GENERATE(as<size_t>{}, 12, 16, 17, 31, 33, 64, 65, 99, 100, 101, 127, 128, 150);
  const size_t dim = 70;
  auto rows = random_rows(k, dim, unsigned(k * 13 + 5), k % 2 == 1);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < rows.size(); i += 37) rows[i] = nan;
  for (size_t i = 5; i < rows.size(); i += 53) rows[i] = inf;
  for (size_t i = 9; i < rows.size(); i += 61) rows[i] = -inf;
  std::vector<float> med(dim), trim(dim);
  coordinate_median(matrix(rows, k, dim), med, 1);
  trimmed_mean(matrix(rows, k, dim), 0.1, trim, 1);
  for (size_t i = 0; i < dim; ++i) {
    auto c = column(rows, k, dim, i);
    for (float& x : c) x = std::isnan(x) ? inf : x;
    std::sort(c.begin(), c.end());
    const float ref = reference_median(c);
    CHECK(((std::isnan(ref) && std::isnan(med[i])) || med[i] == ref));
    const double t = reference_trimmed(c, 0.1);
    if (std::isfinite(t))
      CHECK(trim[i] == Approx(t).epsilon(1e-6).margin(1e-6));
    else
      CHECK((trim[i] == float(t) || (std::isnan(t) && std::isnan(trim[i]))));
  }
  std::vector<float> med2(dim);
  coordinate_median(matrix(rows, k, dim), med2, 2);
  CHECK(same_bits(med2, med));
}
