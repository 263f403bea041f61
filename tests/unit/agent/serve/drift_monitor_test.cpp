#include <memory>
#include <random>

#include <catch2/catch.hpp>

#include "agent/serve/drift_monitor.hpp"

namespace {

using edgefed::agent::DriftMonitor;

// n rows of d features N(shift, 1) (feature 0 is constant 0, like an image border).
std::shared_ptr<edgefed::ml::DataStore> rows(int64_t n, int64_t d, float shift, uint32_t seed) {
  auto s = std::make_shared<edgefed::ml::DataStore>();
  s->features.resize(n, d);
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(shift, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    s->features(i, 0) = 0;
    for (int64_t j = 1; j < d; ++j) s->features(i, j) = g(rng);
  }
  return s;
}

}  // namespace

TEST_CASE("drift: inputs like the holdout score low, shifted inputs or answers score high, the window slides",
          "[unit]") {
  const auto holdout_store = rows(200, 8, 0.0f, 1);
  const edgefed::ml::Dataset holdout{std::shared_ptr<const edgefed::ml::DataStore>(holdout_store)};
  std::vector<double> confidence(200, 0.9);
  for (size_t i = 0; i < confidence.size(); ++i) confidence[i] += 0.05 * ((i % 3) - 1.0);
  DriftMonitor m(256);
  m.reset(DriftMonitor::reference(7, holdout, confidence));
  CHECK_FALSE(m.report().has_value());  // nothing observed yet

  const auto same = rows(256, 8, 0.0f, 2);
  for (int64_t i = 0; i < 256; ++i) m.observe(same->features.row(i).data(), 8, 0.9);
  auto calm = m.report();
  REQUIRE(calm);
  CHECK(calm->version == 7);
  CHECK(calm->window == 256);
  CHECK(calm->score < 0.3);

  // Lighting drift: every (non-constant) input 1.5 std brighter.
  const auto bright = rows(256, 8, 1.5f, 3);
  for (int64_t i = 0; i < 256; ++i) m.observe(bright->features.row(i).data(), 8, 0.9);
  auto drifted = m.report();
  REQUIRE(drifted);
  CHECK(drifted->window == 256);  // the old predictions left the window
  CHECK(drifted->input_shift > 1.0);
  CHECK(drifted->score >= drifted->input_shift);

  // Same inputs, but the model grew unsure (tool wear): the output shifts.
  m.reset(DriftMonitor::reference(8, holdout, confidence));
  for (int64_t i = 0; i < 256; ++i) m.observe(same->features.row(i).data(), 8, 0.6);
  auto unsure = m.report();
  REQUIRE(unsure);
  CHECK(unsure->input_shift < 0.3);
  CHECK(unsure->output_shift > 5);
  CHECK(unsure->output_mean == Approx(0.6));
  // Inputs of another width are not counted.
  m.observe(same->features.row(0).data(), 5, 0.6);
  CHECK(m.report()->window == 256);
}
