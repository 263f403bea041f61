#include "server/aggregation/weighted_accumulator.hpp"

#include <random>

#include <catch2/catch.hpp>

using edgefed::server::WeightedAccumulator;

TEST_CASE("weighted accumulator: exact mean, loss and variance on small inputs", "[unit][aggregation]") {
  WeightedAccumulator acc(2);
  const std::vector<float> d1{1, 2}, d2{3, -2};
  CHECK(acc.add(d1, 100, 1.0) == 5.0);  // returns ||d||^2
  acc.add(d2, 300, 0.5);
  CHECK(acc.count() == 2);
  CHECK(acc.total_weight() == 400);
  // (100 [1,2] + 300 [3,-2]) / 400
  CHECK(acc.mean() == std::vector<float>{2.5f, -1.0f});
  CHECK(acc.weighted_loss() == 0.625);
  // ||d1-m||^2 = 11.25, ||d2-m||^2 = 1.25; (100*11.25 + 300*1.25) / 400
  CHECK(acc.gradient_variance() == Approx(3.75).epsilon(1e-12));
  acc.reset();
  CHECK(acc.count() == 0);
  CHECK(acc.mean().empty());
  CHECK(acc.gradient_variance() == 0.0);
}

TEST_CASE("weighted accumulator: streaming variance equals the two-pass definition", "[unit][aggregation]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::uniform_real_distribution<double> u(1.0, 50.0);
  const size_t dim = 257, k = 37;
  std::vector<std::vector<float>> ds(k, std::vector<float>(dim));
  std::vector<double> ws(k);
  WeightedAccumulator acc(dim);
  for (size_t i = 0; i < k; ++i) {
    for (auto& x : ds[i]) x = n(rng) + 0.3f;
    ws[i] = u(rng);
    acc.add(ds[i], ws[i], 0.0);
  }
  double W = 0;
  for (double w : ws) W += w;
  std::vector<double> m(dim, 0.0);
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < dim; ++j) m[j] += ws[i] * ds[i][j] / W;
  double var = 0;
  for (size_t i = 0; i < k; ++i) {
    double s = 0;
    for (size_t j = 0; j < dim; ++j) s += (ds[i][j] - m[j]) * (ds[i][j] - m[j]);
    var += ws[i] * s / W;
  }
  CHECK(acc.gradient_variance() == Approx(var).epsilon(1e-9));
  auto mean = acc.mean();
  for (size_t j = 0; j < dim; ++j) CHECK(mean[j] == Approx(m[j]).margin(1e-6));
}

TEST_CASE("weighted accumulator: identical updates have zero variance", "[unit][aggregation]") {
  WeightedAccumulator acc(3);
  const std::vector<float> d{0.1f, -0.2f, 0.3f};
  for (int i = 0; i < 5; ++i) acc.add(d, 1.0 + i, 0.0);
  CHECK(acc.gradient_variance() == Approx(0.0).margin(1e-12));
}

TEST_CASE("weighted accumulator: a norm the caller already has gives the same sums and is the one used",
          "[unit][aggregation]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> n(0.0f, 1.0f);
  const size_t dim = 1001;  // odd: the kernels' tails too
  WeightedAccumulator computed(dim), given(dim), wrong(dim);
  for (int i = 0; i < 6; ++i) {
    std::vector<float> d(dim);
    for (auto& x : d) x = n(rng);
    double norm2 = 0;
    for (float x : d) norm2 += static_cast<double>(x) * x;
    const double w = 1.0 + i;
    CHECK(computed.add(d, w, 0.1 * i) == Approx(norm2).epsilon(1e-12));
    CHECK(given.add(d, w, 0.1 * i, norm2) == norm2);
    CHECK(wrong.add(d, w, 0.1 * i, 2 * norm2) == 2 * norm2);
  }
  CHECK(given.weighted_sum() == computed.weighted_sum());  // the same axpy, bit for bit
  CHECK(given.gradient_variance() == Approx(computed.gradient_variance()).epsilon(1e-12));
  CHECK(given.weighted_loss() == computed.weighted_loss());
  // The given norm is what the variance uses: doubling every norm adds
  // sum w ||d||^2 / W to it.
  double mean_norm2 = 0;
  for (double s : computed.weighted_sum()) mean_norm2 += s * s;
  mean_norm2 /= computed.total_weight() * computed.total_weight();
  CHECK(wrong.gradient_variance() ==
        Approx(2 * (computed.gradient_variance() + mean_norm2) - mean_norm2).epsilon(1e-10));
}
