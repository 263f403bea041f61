#include "edgefed/ml/evaluator.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>

#include "synthetic.hpp"
#include "temp_dir.hpp"

using namespace edgefed;

namespace {

ModelLayout layout(const std::string& spec) { return *ModelLayout::mlp(spec); }

}  // namespace

TEST_CASE("the evaluator gives the trainer's loss and accuracy on its held-out set", "[unit][eval]") {
  const ml::Dataset data = test::blobs(300, 6, 4, 7);
  ml::Evaluator evaluator(data.store());
  REQUIRE(evaluator.samples() == 300);

  // An untrained model and a trained one: the evaluator must tell them apart
  // exactly as Trainer::evaluate does.
  const Model global = init_mlp(layout("6-16-4"), 5);
  auto trainer = ml::Trainer::create(global.layout);
  REQUIRE(trainer.is_ok());
  ml::TrainOptions o;
  o.epochs = 5;
  o.lr = 0.1f;
  auto trained = trainer->train(global, data, o);
  REQUIRE(trained.is_ok());
  Model better = global;
  for (size_t i = 0; i < better.params.size(); ++i) better.params[i] += trained->delta[i];

  for (const Model* m : std::initializer_list<const Model*>{&global, &better}) {
    auto want = trainer->evaluate(*m, data);
    auto got = evaluator.evaluate(*m);
    REQUIRE(want.is_ok());
    REQUIRE(got.is_ok());
    CHECK(got->loss == want->loss);
    CHECK(got->accuracy == want->accuracy);
    CHECK(got->num_samples == 300);
  }
  CHECK(evaluator.evaluate(better)->accuracy > evaluator.evaluate(global)->accuracy + 0.2);
}

TEST_CASE("the evaluator follows a change of layout and refuses models that do not fit the data", "[unit][eval]") {
  ml::Evaluator evaluator(test::blobs(50, 6, 4, 3).store());
  SECTION("another hidden width is a new layout, evaluated as well") {
    REQUIRE(evaluator.evaluate(init_mlp(layout("6-16-4"), 1)).is_ok());
    auto r = evaluator.evaluate(init_mlp(layout("6-32-4"), 1));
    REQUIRE(r.is_ok());
    CHECK(r->num_samples == 50);
  }
  SECTION("an input width other than the data's") {
    auto r = evaluator.evaluate(init_mlp(layout("5-16-4"), 1));
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kDimensionMismatch);
  }
  SECTION("a layout that is not an MLP") {
    auto odd = ModelLayout::create({{"w", {3, 3, 3}}});
    REQUIRE(odd.is_ok());
    auto r = evaluator.evaluate(Model(*odd));
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("the evaluator opens the Fashion-MNIST test split, or says why not", "[unit][eval]") {
  SECTION("a directory without the files is an I/O error") {
    auto e = ml::Evaluator::open_idx_test("/nonexistent-edgefed-dir", 10);
    REQUIRE_FALSE(e.is_ok());
    CHECK(e.status().code() == Code::kIo);
  }
  SECTION("the first max_samples rows of the real test split") {
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte.gz")) {
      WARN("Fashion-MNIST not installed; skipped");
      return;
    }
    auto e = ml::Evaluator::open_idx_test(dir, 200);
    REQUIRE(e.is_ok());
    CHECK(e->samples() == 200);
    CHECK(e->data().dim() == 784);
    auto r = e->evaluate(init_mlp(layout("784-16-10"), 1));
    REQUIRE(r.is_ok());
    // An untrained 10-class model is near chance: loss near ln(10).
    CHECK(r->accuracy < 0.4);
    CHECK(r->loss > 1.5);
  }
}

namespace {

const char* const kSfTemps = "/usr/lib/python3/dist-packages/vega_datasets/_data/sf-temps.csv";

}  // namespace

TEST_CASE("a series held-out set reports a forecaster's errors in the sensor's units", "[unit][eval]") {
  if (!std::filesystem::exists(kSfTemps)) {
    WARN("python3-vega-datasets is not installed: " << kSfTemps);
    return;
  }
  auto ev = ml::Evaluator::open(std::string("series:") + kSfTemps + ":columns=temp:window=24");
  INFO(ev.status().to_string());
  REQUIRE(ev.is_ok());
  CHECK(ev->samples() == 8759 - 24);  // 8,759 hourly readings: one window per start, all held out
  auto spec = ml::ModelSpec::preset("forecast-cnn1d:24");
  REQUIRE(spec.is_ok());
  const Model m = spec->init(1);
  auto r = ev->evaluate(m);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  CHECK(ev->task() == ml::TaskType::kRegression);
  // The same errors in standardised units, from the trainer: the evaluator's
  // are those times the temperature's standard deviation (about 5 F in San
  // Francisco), not the standardised ones.
  auto t = ml::Trainer::create(m.layout);
  REQUIRE(t.is_ok());
  auto raw = t->evaluate(m, ev->data());
  REQUIRE(raw.is_ok());
  const double scale = r->mae / raw->mae;
  CHECK(scale > 3.0);
  CHECK(scale < 8.0);
  CHECK(r->rmse / raw->rmse == Approx(scale).epsilon(1e-6));
  CHECK(r->accuracy == 0);

  auto bad = ml::Evaluator::open("series:/nonexistent.csv:columns=temp");
  CHECK_FALSE(bad.is_ok());
  CHECK_FALSE(ml::Evaluator::open("stream:-").is_ok());
}

TEST_CASE("an autoencoder's held-out share above the robust threshold", "[unit][eval]") {
  // 200 samples near zero and 10 far away: the far ones are the share.
  ml::DataStore s;
  s.features.resize(210, 4);
  for (int i = 0; i < 210; ++i)
    for (int j = 0; j < 4; ++j) s.features(i, j) = i < 200 ? 0.01f * static_cast<float>((i * 7 + j) % 11) : 5.0f;
  ml::Evaluator ev(std::make_shared<const ml::DataStore>(std::move(s)));
  auto spec = ml::ModelSpec::parse(R"({"input":[4],"layers":[{"type":"dense","out":2},{"type":"dense","out":4}],)"
                                   R"("loss":"mse","target":"input"})");
  REQUIRE(spec.is_ok());
  Model m = spec->init(2);
  std::fill(m.params.begin(), m.params.end(), 0.0f);  // reconstructs everything as 0: error = mean x^2
  auto r = ev.evaluate(m);
  REQUIRE(r.is_ok());
  CHECK(ev.task() == ml::TaskType::kAutoencoder);
  CHECK(r->anomaly_share == Approx(10.0 / 210.0));
  CHECK(r->anomaly_threshold > 0);
  CHECK(r->anomaly_threshold < 1.0);
  ev.set_anomaly_threshold(100.0);  // a fixed threshold above every error
  auto none = ev.evaluate(m);
  REQUIRE(none.is_ok());
  CHECK(none->anomaly_share == 0);
  CHECK(ml::robust_threshold({}) == 0);
}

TEST_CASE("norm=model scales a held-out series with the model's own normalizer when it brings one", "[unit][eval]") {
  // A sensor around 50 with a 12-step cycle; the model's normalizer (the
  // fleet's, mean 40 std 20 for the feature and the target channel) differs
  // from the statistics of this held-out set.
  edgefed::test::TempDir dir;
  const std::string raw = dir.file("raw.csv"), pre = dir.file("pre.csv");
  {
    std::ofstream a(raw), b(pre);
    a << "t,temp\n";
    b << "t,temp\n";
    for (int t = 0; t < 300; ++t) {
      const double v = 50 + 10 * std::sin(t * 0.5236) + 0.1 * ((t * 37) % 11);
      a << t << ',' << v << '\n';
      b << t << ',' << (v - 40) / 20 << '\n';  // what the model's normalizer makes of it
    }
  }
  auto fitted = ml::Evaluator::open("series:" + raw + ":columns=temp:window=8:norm=model");
  auto own_scale = ml::Evaluator::open("series:" + raw + ":columns=temp:window=8");  // norm=fit
  auto reference = ml::Evaluator::open("series:" + pre + ":columns=temp:window=8:norm=none");
  REQUIRE(fitted.is_ok());
  REQUIRE(own_scale.is_ok());
  REQUIRE(reference.is_ok());
  auto spec = ml::ModelSpec::parse(R"({"input":[1,8],"layers":[{"type":"flatten"},{"type":"dense","out":1}],)"
                                   R"("loss":"mse"})");
  REQUIRE(spec.is_ok());
  Model m = spec->init(3);
  const auto own = fitted->evaluate(m);  // no normalizer: the held-out set's own
  REQUIRE(own.is_ok());
  CHECK_FALSE(fitted->used_model_normalizer());

  m.normalizer = R"({"mean":[40,40],"std":[20,20]})";
  const auto scaled = fitted->evaluate(m);
  REQUIRE(scaled.is_ok());
  CHECK(fitted->used_model_normalizer());
  Model plain = m;
  plain.normalizer.clear();
  const auto ref = reference->evaluate(plain);
  REQUIRE(ref.is_ok());
  CHECK(scaled->loss == Approx(ref->loss).epsilon(1e-5));
  CHECK(scaled->mae == Approx(ref->mae * 20).epsilon(1e-5));  // in the sensor's units
  CHECK(scaled->loss != Approx(own->loss).epsilon(1e-3));
  // norm=fit keeps the held-out set's own scale whatever the model brings.
  const auto fit = own_scale->evaluate(m);
  REQUIRE(fit.is_ok());
  CHECK_FALSE(own_scale->used_model_normalizer());
  CHECK(fit->loss == Approx(own->loss).epsilon(1e-6));

  SECTION("a normalizer that does not fit the data falls back to the held-out set's own") {
    m.normalizer = R"({"mean":[1,2,3],"std":[1,1,1]})";
    const auto back = fitted->evaluate(m);
    REQUIRE(back.is_ok());
    CHECK_FALSE(fitted->used_model_normalizer());
    CHECK(back->loss == Approx(own->loss).epsilon(1e-6));
    m.normalizer = "{not json}";
    CHECK(fitted->evaluate(m).is_ok());
    CHECK_FALSE(fitted->used_model_normalizer());
  }
}
