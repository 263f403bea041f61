#include "edgefed/ml/trainer.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "trainer/network.hpp"
#include "synthetic.hpp"

using namespace edgefed;
using namespace edgefed::ml;

namespace {

ModelLayout layout(const std::string& spec) {
  auto l = ModelLayout::mlp(spec);
  REQUIRE(l.is_ok());
  return *l;
}

Trainer trainer_for(const ModelLayout& l) {
  auto t = Trainer::create(l);
  REQUIRE(t.is_ok());
  return std::move(t).value();
}

TrainResult train_ok(Trainer& t, const Model& m, const Dataset& d, const TrainOptions& o) {
  auto r = t.train(m, d, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double{x} * x;
  return std::sqrt(s);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double{a[i]} - b[i]));
  return m;
}

}  // namespace

TEST_CASE("training learns, reports its figures and is deterministic in the seed", "[unit][trainer]") {
  const auto l = layout("8-16-4");
  const Dataset data = test::blobs(400, 8, 4, 1);
  const Model global = init_mlp(l, 3);
  Trainer t = trainer_for(l);
  TrainOptions o;
  o.epochs = 3;
  o.seed = 9;
  const TrainResult a = train_ok(t, global, data, o);
  CHECK(a.num_samples == 400);
  CHECK(a.samples_seen == 1200);
  CHECK(a.steps == 3 * 13);  // ceil(400 / 32) per epoch
  CHECK(a.train_accuracy > 0.8);
  CHECK(a.samples_per_s > 0);
  Model local = global;
  for (size_t i = 0; i < local.params.size(); ++i) local.params[i] += a.delta[i];
  auto before = t.evaluate(global, data);
  auto after = t.evaluate(local, data);
  REQUIRE((before.is_ok() && after.is_ok()));
  CHECK(after->accuracy > 0.95);
  CHECK(after->loss < before->loss);
  CHECK(after->num_samples == 400);

  Trainer other = trainer_for(l);
  const TrainResult b = train_ok(other, global, data, o);
  CHECK(b.delta == a.delta);  // bit-identical, also in a fresh trainer
  CHECK(b.train_loss == a.train_loss);
  const TrainResult again = train_ok(t, global, data, o);
  CHECK(again.delta == a.delta);  // momentum starts from zero at every call
  o.seed = 10;
  CHECK(train_ok(t, global, data, o).delta != a.delta);
}

TEST_CASE("one optimizer step follows SGD with prox, clipping, weight decay and momentum", "[unit][trainer]") {
  // Full-batch steps, so the data order cannot matter; a double-precision
  // reference written out from the documented formula.
  const auto l = layout("5-6-3");
  const Dataset data = test::blobs(24, 5, 3, 2, 1.0f);
  const Model global = init_mlp(l, 4);
  TrainOptions o;
  o.batch_size = 24;
  o.steps = 3;
  o.lr = 0.1f;
  o.momentum = 0.9f;
  o.weight_decay = 0.01f;
  o.proximal_mu = 0.5f;
  o.clip_norm = GENERATE(0.0f, 0.05f);
  CAPTURE(o.clip_norm);
  Trainer t = trainer_for(l);
  const TrainResult r = train_ok(t, global, data, o);

  Network<double> k(t.spec());
  k.reserve(24, true);
  for (int i = 0; i < 24; ++i) {
    for (int j = 0; j < 5; ++j) k.input_row(i)[j] = data.features(i)[j];
    k.label(i) = data.label(i);
  }
  const std::vector<double> wg(global.params.begin(), global.params.end());
  std::vector<double> w = wg, v(w.size(), 0.0), g(w.size());
  bool clipped = false;
  for (int s = 0; s < 3; ++s) {
    k.run(w.data(), 24, g.data(), 1.0 / 24, true);
    for (size_t i = 0; i < w.size(); ++i) g[i] += o.proximal_mu * (w[i] - wg[i]);
    double n2 = 0;
    for (double x : g) n2 += x * x;
    if (o.clip_norm > 0 && std::sqrt(n2) > o.clip_norm) {
      clipped = true;
      for (double& x : g) x *= o.clip_norm / std::sqrt(n2);
    }
    for (size_t i = 0; i < w.size(); ++i) {
      g[i] += o.weight_decay * w[i];
      v[i] = o.momentum * v[i] + g[i];
      w[i] -= o.lr * v[i];
    }
  }
  CHECK(clipped == (o.clip_norm > 0));
  for (size_t i = 0; i < w.size(); ++i) w[i] -= wg[i];
  CHECK(max_abs_diff(r.delta, w) < 2e-5);
  CHECK(r.steps == 3);
}

TEST_CASE("k accumulated micro-batches equal one k-times batch", "[unit][trainer]") {
  const auto l = layout("8-16-4");
  const Dataset data = test::blobs(100, 8, 4, 5);  // 100 = 3 x 32 + 4: a short last step
  const Model global = init_mlp(l, 6);
  Trainer t = trainer_for(l);
  TrainOptions big;
  big.epochs = 2;
  big.batch_size = 32;
  TrainOptions micro = big;
  micro.batch_size = 8;
  micro.accumulation_steps = 4;
  const TrainResult a = train_ok(t, global, data, big);
  const TrainResult b = train_ok(t, global, data, micro);
  CHECK(a.steps == b.steps);
  CHECK(a.steps == 8);
  const std::vector<double> bd(b.delta.begin(), b.delta.end());
  CHECK(max_abs_diff(a.delta, bd) < 1e-5);
  CHECK(a.train_loss == Approx(b.train_loss).epsilon(1e-5));
}

TEST_CASE("clipping bounds the step and the proximal term pulls towards the global model", "[unit][trainer]") {
  const auto l = layout("8-4");  // softmax regression
  const Dataset data = test::blobs(64, 8, 4, 7);
  const Model global = init_mlp(l, 8);
  Trainer t = trainer_for(l);
  TrainOptions o;
  o.steps = 1;
  o.momentum = 0;
  o.lr = 0.5f;
  o.clip_norm = 1e-3f;
  CHECK(norm(train_ok(t, global, data, o).delta) == Approx(0.5 * 1e-3).epsilon(1e-4));
  o.clip_norm = 0;
  o.steps = 40;
  const double free_norm = norm(train_ok(t, global, data, o).delta);
  o.proximal_mu = 5.0f;
  o.lr = 0.05f;
  const double prox_norm_small_lr = norm(train_ok(t, global, data, o).delta);
  o.proximal_mu = 0;
  const double free_norm_small_lr = norm(train_ok(t, global, data, o).delta);
  CHECK(free_norm > 0);
  CHECK(prox_norm_small_lr < 0.8 * free_norm_small_lr);
}

TEST_CASE("online steps learn from a stream and keep momentum until reset", "[unit][trainer]") {
  const auto l = layout("8-16-4");
  const Dataset data = test::blobs(256, 8, 4, 9);
  Model model = init_mlp(l, 10);
  const Model start = model;
  Trainer t = trainer_for(l);
  TrainOptions o;
  o.batch_size = 8;
  const double loss0 = t.evaluate(model, data)->loss;
  for (uint32_t b = 0; b < 32; ++b) {
    std::vector<uint32_t> pos;
    for (uint32_t i = 0; i < 8; ++i) pos.push_back(b * 8 + i);
    auto s = t.online_step(model, data.subset(pos), o, &start);
    REQUIRE(s.is_ok());
    CHECK(s->num_samples == 8);
  }
  CHECK(t.evaluate(model, data)->loss < 0.5 * loss0);

  // Two steps on one batch: with momentum carried the second step is larger.
  const Dataset batch = data.subset(std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  Model carried = start, reset = start;
  Trainer t2 = trainer_for(l);
  REQUIRE(t2.online_step(carried, batch, o).is_ok());
  REQUIRE(t2.online_step(carried, batch, o).is_ok());
  t2.reset_online();
  REQUIRE(t2.online_step(reset, batch, o).is_ok());
  t2.reset_online();
  REQUIRE(t2.online_step(reset, batch, o).is_ok());
  CHECK(carried.params != reset.params);
}

TEST_CASE("bad inputs to the trainer are errors, not crashes", "[unit][trainer]") {
  const auto l = layout("8-16-4");
  const Dataset data = test::blobs(32, 8, 4, 11);
  const Model global = init_mlp(l, 12);
  Trainer t = trainer_for(l);
  TrainOptions o;
  SECTION("layout mismatch") {
    auto r = t.train(init_mlp(layout("8-16-5"), 1), data, o);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kDimensionMismatch);
  }
  SECTION("feature width mismatch") {
    auto r = t.train(global, test::blobs(32, 9, 4, 1), o);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kDimensionMismatch);
    CHECK_THAT(r.status().message(), Catch::Contains("9 features"));
  }
  SECTION("more classes than outputs") {
    CHECK(t.train(global, test::blobs(32, 8, 6, 1), o).status().code() == Code::kDimensionMismatch);
  }
  SECTION("empty data") { CHECK(t.train(global, Dataset(), o).status().code() == Code::kInvalidArgument); }
  SECTION("bad options") {
    TrainOptions bad = o;
    bad.batch_size = GENERATE(0, -1);
    CHECK(t.train(global, data, bad).status().code() == Code::kInvalidArgument);
    TrainOptions bad_lr = o;
    bad_lr.lr = std::nanf("");
    CHECK_FALSE(t.train(global, data, bad_lr).is_ok());
    TrainOptions bad_m = o;
    bad_m.momentum = 1.0f;
    CHECK_FALSE(t.train(global, data, bad_m).is_ok());
  }
  SECTION("divergence") {
    TrainOptions wild = o;
    wild.lr = 1e30f;
    wild.epochs = 5;
    auto r = t.train(global, data, wild);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kNonFinite);
  }
  SECTION("not an MLP layout") {
    auto odd = ModelLayout::create({{"w", {3, 4}}});
    REQUIRE(odd.is_ok());
    CHECK_FALSE(Trainer::create(*odd).is_ok());
  }
  SECTION("evaluating nothing") {
    auto e = t.evaluate(global, Dataset());
    REQUIRE(e.is_ok());
    CHECK(e->num_samples == 0);
  }
}

TEST_CASE("the float kernels run the architecture's vector path", "[unit][trainer]") {
  const std::string isa = edgefed::ml::kernel_isa();
#if defined(__aarch64__)
  // Eigen's NEON packets on every AArch64 CPU: an ARM build without them
  // would train at scalar speed.
  CHECK(isa == "neon");
#elif defined(__x86_64__)
  CHECK((isa == "avx2" || isa == "generic"));
#elif defined(__ARM_NEON)
  CHECK(isa == "neon");  // 32-bit ARM built with -mfpu=neon
#else
  CHECK(isa == "generic");  // Debian's armhf baseline: VFPv3, no NEON
#endif
}
