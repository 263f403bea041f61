// The trainer on models beyond the MLP: a CNN, a 1-D CNN forecaster,
// regression with MSE and Huber, an autoencoder's anomaly scores, dropout.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/trainer.hpp"

using namespace edgefed;
using namespace edgefed::ml;

namespace {

ModelSpec model_spec(const std::string& json) {
  auto s = ModelSpec::parse(json);
  INFO(json << " " << s.status().to_string());
  REQUIRE(s.is_ok());
  return std::move(s).value();
}

Model trained(Trainer& t, const Model& global, const Dataset& data, const TrainOptions& o) {
  auto r = t.train(global, data, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  Model m = global;
  for (size_t i = 0; i < m.params.size(); ++i) m.params[i] += r->delta[i];
  return m;
}

EvalResult eval_ok(Trainer& t, const Model& m, const Dataset& d) {
  auto r = t.evaluate(m, d);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}

// 8x8 images of one horizontal (class 0) or vertical (class 1) bar at a
// random position, with noise: only a spatial feature separates them.
Dataset bars(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  std::uniform_int_distribution<int> pos(0, 7);
  DataStore s;
  s.num_classes = 2;
  s.features.resize(n, 64);
  s.labels.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int y = i % 2, p = pos(rng);
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) s.features(i, r * 8 + c) = ((y == 0 ? r : c) == p ? 1.0f : 0.0f) + noise(rng);
    s.labels[static_cast<size_t>(i)] = y;
  }
  return Dataset::own(std::move(s));
}

// Windows of a noisy sine wave: x = 16 readings, y = the next one.
Dataset sine_windows(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::vector<float> series(static_cast<size_t>(n + 17));
  for (size_t t = 0; t < series.size(); ++t) series[t] = std::sin(0.4f * static_cast<float>(t)) + noise(rng);
  DataStore s;
  s.features.resize(n, 16);
  s.targets.resize(n, 1);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 16; ++k) s.features(i, k) = series[static_cast<size_t>(i + k)];
    s.targets(i, 0) = series[static_cast<size_t>(i + 16)];
  }
  return Dataset::own(std::move(s));
}

// Points on a 2-D plane inside R^8 (normal), or anywhere (anomalies).
Dataset plane_points(int n, bool anomalous, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  DataStore s;
  s.features.resize(n, 8);
  s.num_classes = 0;
  for (int i = 0; i < n; ++i) {
    const float a = g(rng), b = g(rng);
    for (int j = 0; j < 8; ++j)
      s.features(i, j) = anomalous ? g(rng) : 0.5f * (a * std::cos(0.7f * j) + b * std::sin(1.3f * j));
  }
  return Dataset::own(std::move(s));
}

}  // namespace

TEST_CASE("a small CNN learns a spatial feature the data hides from a linear model", "[unit][trainer][conv]") {
  const ModelSpec spec = model_spec(
      R"({"input":[1,8,8],"layers":[{"type":"conv2d","out":4,"kernel":3,"padding":1},{"type":"relu"},)"
      R"({"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","out":2}],"loss":"softmax_cross_entropy"})");
  Trainer t = Trainer::create(spec);
  const Model global = spec.init(1);
  TrainOptions o;
  o.epochs = 8;
  o.lr = 0.05f;
  const Model local = trained(t, global, bars(400, 1), o);
  const Dataset test = bars(200, 2);
  CHECK(eval_ok(t, global, test).accuracy < 0.8);
  const EvalResult after = eval_ok(t, local, test);
  CHECK(after.accuracy > 0.95);
  CHECK(after.mae == 0);  // regression metrics stay zero for a classifier
}

TEST_CASE("a 1-D CNN forecaster beats the persistence forecast", "[unit][trainer][conv]") {
  auto spec = ModelSpec::preset("forecast-cnn1d:16");
  REQUIRE(spec.is_ok());
  Trainer t = Trainer::create(*spec);
  const Model global = spec->init(3);
  const Dataset train = sine_windows(600, 4), test = sine_windows(200, 5);
  TrainOptions o;
  o.epochs = 20;
  o.lr = 0.02f;
  const Model local = trained(t, global, train, o);
  double persistence = 0;
  for (int64_t i = 0; i < test.size(); ++i) persistence += std::abs(test.features(i)[15] - test.target(i)[0]);
  persistence /= static_cast<double>(test.size());
  const EvalResult r = eval_ok(t, local, test);
  INFO("MAE " << r.mae << " vs persistence " << persistence);
  CHECK(r.mae < 0.7 * persistence);
  CHECK(r.rmse >= r.mae);
  CHECK(r.accuracy == 0);
}

TEST_CASE("regression with MSE and Huber reduces the error on held-out data", "[unit][trainer]") {
  const std::string loss = GENERATE(std::string("mse"), std::string("huber"));
  CAPTURE(loss);
  const ModelSpec spec = model_spec(R"({"input":[4],"layers":[{"type":"dense","out":16},{"type":"tanh"},)"
                                    R"({"type":"dense","out":2}],"loss":")" + loss + "\"}");
  auto make = [](int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    DataStore s;
    s.features.resize(n, 4);
    s.targets.resize(n, 2);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < 4; ++j) s.features(i, j) = u(rng);
      s.targets(i, 0) = std::sin(2 * s.features(i, 0)) + s.features(i, 1);
      s.targets(i, 1) = s.features(i, 2) * s.features(i, 3);
    }
    return Dataset::own(std::move(s));
  };
  Trainer t = Trainer::create(spec);
  const Model global = spec.init(5);
  TrainOptions o;
  o.epochs = 30;
  o.lr = 0.05f;
  const Model local = trained(t, global, make(500, 6), o);
  const Dataset test = make(200, 7);
  const EvalResult before = eval_ok(t, global, test), after = eval_ok(t, local, test);
  INFO("MAE " << before.mae << " -> " << after.mae);
  CHECK(after.mae < before.mae / 3);
  CHECK(after.loss < before.loss);
}

TEST_CASE("an autoencoder scores anomalies far above normal samples", "[unit][trainer]") {
  const ModelSpec spec = model_spec(R"({"input":[8],"layers":[{"type":"dense","out":6},{"type":"tanh"},)"
                                    R"({"type":"dense","out":2},{"type":"dense","out":6},{"type":"tanh"},)"
                                    R"({"type":"dense","out":8}],"loss":"mse","target":"input"})");
  REQUIRE(spec.task() == TaskType::kAutoencoder);
  Trainer t = Trainer::create(spec);
  TrainOptions o;
  o.epochs = 40;
  o.lr = 0.05f;
  const Model local = trained(t, spec.init(8), plane_points(500, false, 9), o);
  auto normal = t.sample_losses(local, plane_points(100, false, 10));
  auto odd = t.sample_losses(local, plane_points(100, true, 11));
  REQUIRE((normal.is_ok() && odd.is_ok()));
  REQUIRE(normal->size() == 100);
  double mean_normal = 0, mean_odd = 0;
  for (float v : *normal) mean_normal += v / 100.0;
  for (float v : *odd) mean_odd += v / 100.0;
  INFO("reconstruction error: normal " << mean_normal << ", anomalous " << mean_odd);
  CHECK(mean_odd > 5 * mean_normal);
  // The mean per-sample loss is what evaluate() reports as the loss.
  CHECK(eval_ok(t, local, plane_points(100, false, 10)).loss == Approx(mean_normal).epsilon(1e-4));
}

TEST_CASE("dropout is seeded: the same seed repeats, another differs, evaluation has none", "[unit][trainer]") {
  const ModelSpec spec = model_spec(R"({"input":[64],"layers":[{"type":"dense","out":32},{"type":"relu"},)"
                                    R"({"type":"dropout","rate":0.5},{"type":"dense","out":2}],)"
                                    R"("loss":"softmax_cross_entropy"})");
  Trainer t = Trainer::create(spec);
  const Model global = spec.init(1);
  const Dataset data = bars(128, 3);
  TrainOptions o;
  o.seed = 4;
  auto a = t.train(global, data, o), b = t.train(global, data, o);
  REQUIRE((a.is_ok() && b.is_ok()));
  CHECK(a->delta == b->delta);
  o.seed = 5;
  auto c = t.train(global, data, o);
  REQUIRE(c.is_ok());
  CHECK(c->delta != a->delta);
  const EvalResult e1 = eval_ok(t, global, data), e2 = eval_ok(t, global, data);
  CHECK(e1.loss == e2.loss);
}

TEST_CASE("data that does not fit the model's task is refused", "[unit][trainer]") {
  const ModelSpec reg = model_spec(R"({"input":[16],"layers":[{"type":"dense","out":2}],"loss":"mse"})");
  Trainer t = Trainer::create(reg);
  TrainOptions o;
  auto wrong_targets = t.train(reg.init(1), sine_windows(20, 1), o);  // 1 target, model has 2 outputs
  REQUIRE_FALSE(wrong_targets.is_ok());
  CHECK(wrong_targets.status().code() == Code::kDimensionMismatch);
  CHECK_THAT(wrong_targets.status().message(), Catch::Contains("1 targets per sample, model outputs 2"));

  const ModelSpec cls = model_spec(R"({"input":[16],"layers":[{"type":"dense","out":2}],"loss":"softmax_cross_entropy"})");
  Trainer c = Trainer::create(cls);
  auto unlabelled = c.evaluate(cls.init(1), sine_windows(20, 1));
  REQUIRE_FALSE(unlabelled.is_ok());
  CHECK_THAT(unlabelled.status().message(), Catch::Contains("needs labelled data"));

  auto other = Trainer::create(reg.layout());
  REQUIRE(other.is_ok());
  auto mismatch = other->train(cls.init(1), sine_windows(20, 1), o);
  REQUIRE_FALSE(mismatch.is_ok());
  CHECK(mismatch.status().code() == Code::kDimensionMismatch);
}
