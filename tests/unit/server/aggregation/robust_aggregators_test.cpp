// Median, trimmed mean and multi-Krum against straightforward references
// (sort per coordinate; all pairwise distances in double) on small random
// inputs, with weights and fewer updates than expected.
#include "server/aggregation/robust_aggregators.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

#include "aggregation_test_support.hpp"

using namespace edgefed::server;
using namespace edgefed::testing;

namespace {

std::vector<double> sorted_column(const Updates& u, size_t i) {
  std::vector<double> col;
  for (const auto& row : u) col.push_back(row[i]);
  std::sort(col.begin(), col.end());
  return col;
}

std::vector<double> reference_median(const Updates& u) {
  std::vector<double> out(u[0].size());
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = sorted_column(u, i);
    const size_t k = c.size();
    out[i] = k % 2 ? c[k / 2] : (c[k / 2 - 1] + c[k / 2]) / 2;
  }
  return out;
}

std::vector<double> reference_trimmed(const Updates& u, double beta) {
  std::vector<double> out(u[0].size());
  const size_t k = u.size(), t = static_cast<size_t>(std::floor(beta * static_cast<double>(k)));
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = sorted_column(u, i);
    out[i] = std::accumulate(c.begin() + t, c.end() - t, 0.0) / static_cast<double>(k - 2 * t);
  }
  return out;
}

// Multi-Krum spelled out: scores from double distances, m lowest, weighted mean.
std::vector<double> reference_krum(const Updates& u, const std::vector<double>& w, size_t f, size_t m,
                                   std::vector<size_t>* chosen) {
  const size_t k = u.size();
  std::vector<std::pair<double, size_t>> scores;
  for (size_t i = 0; i < k; ++i) {
    std::vector<double> d;
    for (size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      double s = 0;
      for (size_t x = 0; x < u[i].size(); ++x) s += (double(u[i][x]) - u[j][x]) * (double(u[i][x]) - u[j][x]);
      d.push_back(s);
    }
    std::sort(d.begin(), d.end());
    scores.push_back({std::accumulate(d.begin(), d.begin() + static_cast<long>(k - f - 2), 0.0), i});
  }
  std::sort(scores.begin(), scores.end());
  std::vector<double> out(u[0].size(), 0.0);
  double total = 0;
  for (size_t s = 0; s < m; ++s) total += w[scores[s].second];
  for (size_t s = 0; s < m; ++s) {
    const size_t i = scores[s].second;
    chosen->push_back(i);
    for (size_t x = 0; x < out.size(); ++x) out[x] += w[i] / total * u[i][x];
  }
  return out;
}

void feed(Aggregator& a, const Updates& u, const std::vector<double>& w) {
  for (size_t i = 0; i < u.size(); ++i) a.add({u[i], w[i], 0.1 * static_cast<double>(i), 1.0});
}

}  // namespace

TEST_CASE("coordinate median equals the sorted middle, odd and even K, weights ignored", "[unit][aggregation]") {
  const size_t k = GENERATE(1, 2, 5, 6, 9);
  INFO("K = " << k);
  const auto u = random_updates(k, 37, 100 + static_cast<unsigned>(k));
  const auto w = random_weights(k, 5);
  auto a = make_aggregator(AggregatorOptions{.kind = AggregatorKind::kMedian, .expected_count = static_cast<int64_t>(k)}, 37).value();
  feed(*a, u, w);
  auto r = a->finish(1);
  REQUIRE(r.is_ok());
  check_close(r->delta, reference_median(u), 1e-7);
  CHECK(r->count == static_cast<int64_t>(k));
  CHECK(r->total_weight == Approx(std::accumulate(w.begin(), w.end(), 0.0)));
  CHECK(a->memory_bytes() == k * 37 * sizeof(float) + 37 * sizeof(double));

  // The same updates with other weights: the same median.
  auto b = make_aggregator(AggregatorKind::kMedian, 37).value();
  feed(*b, u, std::vector<double>(k, 1.0));
  CHECK(b->finish(1)->delta == r->delta);
}

TEST_CASE("trimmed mean drops floor(beta n) per side and averages the rest", "[unit][aggregation]") {
  auto [k, beta] = GENERATE(table<size_t, double>({{10, 0.1}, {10, 0.25}, {7, 0.2}, {4, 0.0}, {9, 0.45}}));
  INFO("K = " << k << " beta = " << beta);
  auto u = random_updates(k, 41, 7 + static_cast<unsigned>(k));
  u[0][3] = 1e6f;  // an outlier that must be trimmed when beta n >= 1
  AggregatorOptions o{.kind = AggregatorKind::kTrimmedMean, .trim_beta = beta, .threads = 2};
  auto a = make_aggregator(o, 41).value();
  feed(*a, u, random_weights(k, 3));
  auto r = a->finish(1);
  REQUIRE(r.is_ok());
  check_close(r->delta, reference_trimmed(u, beta), 1e-6);
  if (std::floor(beta * static_cast<double>(k)) >= 1) CHECK(std::abs(r->delta[3]) < 10);
}

TEST_CASE("multi-Krum selects like the reference and averages the chosen by weight", "[unit][aggregation]") {
  auto [k, f, m] = GENERATE(table<size_t, size_t, size_t>({{7, 1, 0}, {7, 1, 2}, {10, 2, 1}, {12, 3, 0}, {5, 1, 4}}));
  INFO("K = " << k << " f = " << f << " m = " << m);
  auto u = random_updates(k, 29, 17 + static_cast<unsigned>(k + f));
  // f hostile updates far from the honest cluster (sign-flipped and scaled).
  for (size_t h = 0; h < f; ++h) {
    for (auto& x : u[h]) x = -10.0f * x + 3.0f;
  }
  const auto w = random_weights(k, 19);  // num_samples x s(tau)
  AggregatorOptions o{.kind = AggregatorKind::kKrum, .krum_f = static_cast<int64_t>(f), .krum_m = static_cast<int64_t>(m),
                      .threads = 2, .expected_count = static_cast<int64_t>(k)};
  auto a = make_aggregator(o, 29).value();
  CHECK(a->min_count() == static_cast<int64_t>(2 * f + 3));
  feed(*a, u, w);
  auto r = a->finish(1);
  REQUIRE(r.is_ok());
  std::vector<size_t> chosen;
  const size_t m_eff = m == 0 ? k - f : std::min(m, k - f);
  const auto expected = reference_krum(u, w, f, m_eff, &chosen);
  check_close(r->delta, expected, 1e-5);
  auto* krum = dynamic_cast<MultiKrumAggregator*>(a.get());
  REQUIRE(krum != nullptr);
  CHECK(krum->selected() == chosen);
  for (size_t h = 0; h < f; ++h) CHECK(std::find(chosen.begin(), chosen.end(), h) == chosen.end());
}

TEST_CASE("multi-Krum with fewer updates than it needs refuses; m is capped at n - f", "[unit][aggregation]") {
  AggregatorOptions o{.kind = AggregatorKind::kKrum, .krum_f = 2, .krum_m = 100, .expected_count = 10};
  auto a = make_aggregator(o, 8).value();
  const auto u = random_updates(7, 8, 3);
  for (size_t i = 0; i < 6; ++i) a->add({u[i], 1.0, 0.0, 1.0});
  CHECK(a->finish(1).status().code() == edgefed::Code::kUnprocessable);  // 6 < 2f + 3
  a->add({u[6], 1.0, 0.0, 1.0});
  auto r = a->finish(1);
  REQUIRE(r.is_ok());
  std::vector<size_t> chosen;
  check_close(r->delta, reference_krum(u, std::vector<double>(7, 1.0), 2, 5, &chosen), 1e-5);
  a->reset(8);
  CHECK(a->count() == 0);
  CHECK(a->memory_bytes() == 10 * 8 * sizeof(float) + 8 * sizeof(double));  // the K x dim reservation stays
  a->reset(4);
  CHECK(a->memory_bytes() == 4 * sizeof(double));  // a new layout releases it
}

TEST_CASE("robust strategies report weighted loss and gradient variance like fedavg", "[unit][aggregation]") {
  const auto u = random_updates(6, 16, 23);
  const auto w = random_weights(6, 29);
  auto fedavg = make_aggregator(AggregatorKind::kFedAvg, 16).value();
  feed(*fedavg, u, w);
  const auto expected = fedavg->finish(1).value();
  for (const auto kind : {AggregatorKind::kMedian, AggregatorKind::kTrimmedMean, AggregatorKind::kKrum}) {
    INFO(edgefed::enum_name(kind));
    auto a = make_aggregator(kind, 16).value();
    feed(*a, u, w);
    auto r = a->finish(1).value();
    CHECK(r.weighted_loss == Approx(expected.weighted_loss));
    CHECK(r.gradient_variance == Approx(expected.gradient_variance));
    CHECK(r.total_weight == Approx(expected.total_weight));
  }
}
