#include <cmath>
#include <memory>

#include <catch2/catch.hpp>

#include "agent/serve/predictor.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/normalizer.hpp"

namespace {

using edgefed::agent::Predictor;
using edgefed::agent::ServedModel;
using edgefed::ml::FeatureMatrix;

ServedModel served(const std::string& preset, uint64_t seed, int64_t version = 9) {
  ServedModel s;
  s.spec = *edgefed::ml::ModelSpec::preset(preset);
  s.model = s.spec.init(seed);
  s.validation.version = version;
  return s;
}

FeatureMatrix rows(int64_t n, int64_t d, float scale = 1.0f) {
  FeatureMatrix m(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) m(i, j) = scale * std::sin(0.7f * static_cast<float>(i * d + j));
  return m;
}

}  // namespace

TEST_CASE("classifier predictions are the argmax and its softmax probability", "[unit]") {
  const ServedModel m = served("mlp:4-8-3", 5);
  const FeatureMatrix x = rows(6, 4, 2.0f);
  Predictor p;
  auto batch = p.predict(m, x);
  REQUIRE(batch.is_ok());
  CHECK(batch->version == 9);
  REQUIRE(batch->rows.size() == 6);
  auto trainer = edgefed::ml::Trainer::create(m.spec);
  auto store = std::make_shared<edgefed::ml::DataStore>();
  store->features = x;
  auto logits = trainer.predict(m.model, edgefed::ml::Dataset(std::shared_ptr<const edgefed::ml::DataStore>(store)));
  REQUIRE(logits.is_ok());
  for (size_t i = 0; i < 6; ++i) {
    const float* l = logits->data() + 3 * i;
    int best = 0;
    for (int k = 1; k < 3; ++k)
      if (l[k] > l[best]) best = k;
    double z = 0;
    for (int k = 0; k < 3; ++k) z += std::exp(double(l[k]));
    CHECK(batch->rows[i].label == best);
    CHECK(std::abs(batch->rows[i].confidence - std::exp(double(l[best])) / z) < 1e-6);
    CHECK(batch->rows[i].confidence > 1.0 / 3 - 1e-9);
  }
}

TEST_CASE("bad prediction inputs are refused with the reason", "[unit]") {
  const ServedModel m = served("mlp:4-8-3", 5);
  Predictor p;
  auto wide = p.predict(m, rows(2, 5));
  CHECK(wide.status().code() == edgefed::Code::kDimensionMismatch);
  CHECK(wide.status().message() == "inputs have 5 features, the model takes 4");
  FeatureMatrix x = rows(3, 4);
  x(2, 1) = NAN;
  auto nan = p.predict(m, x);
  CHECK(nan.status().code() == edgefed::Code::kNonFinite);
  CHECK(nan.status().message() == "input 2, feature 1 is not a finite number");
  CHECK(p.predict(m, FeatureMatrix(0, 4)).status().code() == edgefed::Code::kInvalidArgument);
}

TEST_CASE("autoencoder predictions score reconstruction error against the validated threshold", "[unit]") {
  ServedModel m = served("autoencoder:8", 3);
  Predictor p;
  FeatureMatrix x = rows(4, 8, 0.5f);
  x.row(3) *= 40.0f;  // far from anything: a large reconstruction error
  auto first = p.predict(m, x);
  REQUIRE(first.is_ok());
  CHECK(first->task == edgefed::ml::TaskType::kAutoencoder);
  CHECK(first->rows[3].score > 10 * first->rows[0].score);
  for (const auto& r : first->rows) CHECK_FALSE(r.anomaly);  // no threshold set
  m.validation.anomaly_threshold = (first->rows[0].score + first->rows[3].score) / 2;
  auto second = p.predict(m, x);
  REQUIRE(second.is_ok());
  CHECK(second->rows[3].anomaly);
  CHECK_FALSE(second->rows[0].anomaly);
}

TEST_CASE("a forecast model with a normalizer takes and answers sensor units", "[unit]") {
  ServedModel plain = served("forecast-cnn1d:8", 4);
  ServedModel scaled = plain;
  // Channel 0 (the input) mean 100, std 10; channel 1 (the target) mean 50, std 5.
  scaled.model.normalizer = R"({"mean":[100,50],"std":[10,5]})";
  FeatureMatrix z = rows(3, 8, 1.0f);
  FeatureMatrix raw = z;
  for (int64_t i = 0; i < raw.size(); ++i) raw.data()[i] = raw.data()[i] * 10.0f + 100.0f;
  Predictor p;
  auto standard = p.predict(plain, z);
  auto units = p.predict(scaled, raw);
  REQUIRE(standard.is_ok());
  REQUIRE(units.is_ok());
  for (size_t i = 0; i < 3; ++i) {
    REQUIRE(units->rows[i].values.size() == 1);
    CHECK(std::abs(units->rows[i].values[0] - (standard->rows[i].values[0] * 5.0f + 50.0f)) < 1e-3);
  }
}
