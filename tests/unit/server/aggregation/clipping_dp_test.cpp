// Update-norm clipping and DP-FedAvg against references: clipped updates,
// fixed-denominator discount-weighted sums, and the statistics of the
// Gaussian noise drawn with a fixed seed.
#include "server/aggregation/clipping.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "aggregation_test_support.hpp"
#include "server/aggregation/dp_aggregator.hpp"

using namespace edgefed::server;
using namespace edgefed::testing;

namespace {

double norm(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return std::sqrt(s);
}

std::vector<double> clipped(const std::vector<float>& d, double c) {
  const double n = norm(d);
  std::vector<double> out(d.begin(), d.end());
  if (n > c) {
    for (auto& x : out) x *= c / n;
  }
  return out;
}

struct NoiseStats {
  double mean, stddev;
};

NoiseStats stats(const std::vector<double>& x) {
  double s = 0, s2 = 0;
  for (double v : x) s += v;
  const double mean = s / double(x.size());
  for (double v : x) s2 += (v - mean) * (v - mean);
  return {mean, std::sqrt(s2 / double(x.size() - 1))};
}

}  // namespace

TEST_CASE("clip_to_norm scales only updates above the norm", "[unit][aggregation]") {
  std::vector<float> out(2);
  CHECK(!clip_to_norm(std::vector<float>{3.0f, 4.0f}, 5.0, out));  // norm exactly 5
  CHECK(out == std::vector<float>{3.0f, 4.0f});
  CHECK(clip_to_norm(std::vector<float>{3.0f, 4.0f}, 1.0, out));
  CHECK(out[0] == Approx(0.6));
  CHECK(out[1] == Approx(0.8));
}

TEST_CASE("clipping fedavg: the weighted mean of the clipped updates, clipped count", "[unit][aggregation]") {
  auto u = random_updates(6, 50, 5);  // norms about 0.1 x sqrt(50) = 0.7
  for (auto& x : u[1]) x *= 10;       // norm ~7
  for (auto& x : u[4]) x *= 3;        // norm ~2.1
  const auto w = random_weights(6, 9);
  const double c = 1.0;
  auto a = make_aggregator(AggregatorOptions{.kind = AggregatorKind::kFedAvg, .clip_norm = c}, 50).value();
  CHECK(a->memory_bytes() == 50 * (sizeof(double) + sizeof(float)));
  int64_t expected_clipped = 0;
  std::vector<double> ref(50, 0.0);
  double total = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    a->add({u[i], w[i], 0.0, 1.0});
    expected_clipped += norm(u[i]) > c;
    const auto ci = clipped(u[i], c);
    for (size_t x = 0; x < 50; ++x) ref[x] += w[i] * ci[x];
    total += w[i];
  }
  for (auto& x : ref) x /= total;
  auto r = a->finish(1);
  REQUIRE(r.is_ok());
  CHECK(expected_clipped >= 2);
  CHECK(r->clipped == expected_clipped);
  CHECK(r->noise_stddev == 0.0);
  check_close(r->delta, ref, 1e-6);
  a->reset(50);
  a->add({u[0], 1.0, 0.0, 1.0});
  CHECK(a->finish(2)->clipped == (norm(u[0]) > c ? 1 : 0));
}

TEST_CASE("clipping wraps the robust strategies too", "[unit][aggregation]") {
  auto u = random_updates(5, 20, 8);
  for (auto& x : u[2]) x *= 100;
  auto a = make_aggregator(AggregatorOptions{.kind = AggregatorKind::kMedian, .clip_norm = 0.5}, 20).value();
  CHECK(a->name() == "median");
  Updates clipped_rows;
  for (const auto& row : u) {
    a->add({row, 1.0, 0.0, 1.0});
    const auto c = clipped(row, 0.5);
    clipped_rows.emplace_back(c.begin(), c.end());
  }
  auto b = make_aggregator(AggregatorKind::kMedian, 20).value();
  for (const auto& row : clipped_rows) b->add({row, 1.0, 0.0, 1.0});
  auto r = a->finish(1).value();
  CHECK(r.delta == b->finish(1)->delta);
  CHECK(r.clipped >= 1);
}

TEST_CASE("DP-FedAvg: discount-weighted clipped sum over max(n, K) plus N(0, (zC)^2) noise", "[unit][aggregation]") {
  constexpr size_t kDim = 20000;
  const double c = 0.5, z = 1.2;
  const int64_t k_expected = 8;
  auto u = random_updates(5, kDim, 31, 0.01f);  // norms about 1.4: all clipped
  const std::vector<double> discount{1.0, 0.5, 1.0, 0.25, 1.0};
  AggregatorOptions o{.kind = AggregatorKind::kFedAvg, .clip_norm = c, .dp_noise_multiplier = z, .dp_seed = 42,
                      .expected_count = k_expected};
  auto a = make_aggregator(o, kDim).value();
  CHECK(a->memory_bytes() == kDim * (sizeof(double) + sizeof(float)));
  std::vector<double> sum(kDim, 0.0);
  for (size_t i = 0; i < u.size(); ++i) {
    // num_samples differ wildly; DP ignores them (only the discount counts).
    a->add({u[i], 1000.0 * double(i + 1) * discount[i], 0.5, discount[i]});
    const auto ci = clipped(u[i], c);
    for (size_t x = 0; x < kDim; ++x) sum[x] += discount[i] * ci[x];
  }
  auto r = a->finish(7);
  REQUIRE(r.is_ok());
  CHECK(r->clipped == 5);
  CHECK(r->count == 5);
  const double denominator = 8;  // max(5, K = 8): the fixed denominator
  CHECK(r->noise_stddev == Approx(z * c / denominator));
  std::vector<double> residual(kDim);
  for (size_t x = 0; x < kDim; ++x) residual[x] = r->delta[x] - sum[x] / denominator;
  const auto s = stats(residual);
  const double sigma = z * c / denominator;
  // 20000 samples: the mean's standard error is sigma / 141, the stddev's ~0.5%.
  CHECK(std::abs(s.mean) < 5 * sigma / std::sqrt(double(kDim)));
  CHECK(s.stddev == Approx(sigma).epsilon(0.03));

  // Same seed and round: the same noise; another round: other noise.
  auto again = make_aggregator(o, kDim).value();
  for (size_t i = 0; i < u.size(); ++i) again->add({u[i], 1.0, 0.5, discount[i]});
  CHECK(again->finish(7)->delta == r->delta);
  auto next = again->finish(8).value();
  size_t same = 0;
  for (size_t x = 0; x < kDim; ++x) same += next.delta[x] == r->delta[x];
  CHECK(same < kDim / 100);
  o.dp_seed = 0;  // std::random_device
  auto random = make_aggregator(o, kDim).value();
  random->add({u[0], 1.0, 0.5, 1.0});
  CHECK(random->finish(7)->noise_stddev == Approx(sigma));
}

TEST_CASE("DP with more updates than K divides by n", "[unit][aggregation]") {
  const auto u = random_updates(4, 3000, 2, 0.001f);  // norms ~0.05: none clipped
  auto a = make_aggregator(AggregatorOptions{.clip_norm = 1.0, .dp_noise_multiplier = 0.5, .dp_seed = 1,
                                             .expected_count = 2}, 3000).value();
  for (const auto& row : u) a->add({row, 1.0, 0.0, 1.0});
  auto r = a->finish(1).value();
  CHECK(r.clipped == 0);
  CHECK(r.noise_stddev == Approx(0.5 / 4));
}

TEST_CASE("aggregator options the mathematics does not allow are refused", "[unit][aggregation]") {
  auto refused = [](AggregatorOptions o) {
    return make_aggregator(o, 4).status().code() == edgefed::Code::kInvalidArgument;
  };
  CHECK(refused({.dp_noise_multiplier = 1.0}));  // DP without clipping
  CHECK(refused({.kind = AggregatorKind::kMedian, .clip_norm = 1.0, .dp_noise_multiplier = 1.0}));
  CHECK(refused({.kind = AggregatorKind::kKrum, .clip_norm = 1.0, .dp_noise_multiplier = 1.0}));
  CHECK(refused({.kind = AggregatorKind::kTrimmedMean, .clip_norm = 1.0, .dp_noise_multiplier = 1.0}));
  CHECK(refused({.kind = AggregatorKind::kTrimmedMean, .trim_beta = 0.5}));
  CHECK(refused({.kind = AggregatorKind::kTrimmedMean, .trim_beta = -0.1}));
  CHECK(refused({.kind = AggregatorKind::kKrum, .krum_f = -1}));
  CHECK(refused({.kind = AggregatorKind::kKrum, .krum_m = -1}));
  CHECK(refused({.threads = 0}));
  CHECK(refused({.clip_norm = -1}));
  CHECK(refused({.clip_norm = NAN}));
  CHECK(refused({.clip_norm = 1, .dp_noise_multiplier = -1}));
  CHECK(make_aggregator(AggregatorOptions{.clip_norm = 1, .dp_noise_multiplier = 1}, 4).is_ok());
  CHECK(make_aggregator(AggregatorOptions{.kind = AggregatorKind::kKrum, .clip_norm = 1}, 4).is_ok());
}
