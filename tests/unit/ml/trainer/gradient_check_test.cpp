// Finite-difference checks of every gradient the trainer uses, in double so
// that central differences with h = 1e-6 are accurate to ~1e-9 relative and a
// 1e-6 tolerance catches any real mistake (a wrong term is off by O(1)).
// Every layer type and loss appears in at least one network below.
#include <catch2/catch.hpp>
#include <random>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/trainer.hpp"
#include "trainer/network.hpp"
#include "trainer/sgd.hpp"

using namespace edgefed::ml;

namespace {

constexpr double kH = 1e-6;
constexpr double kTol = 1e-6;

ModelSpec spec_of(const std::string& json) {
  auto s = ModelSpec::parse(json);
  INFO(json);
  REQUIRE(s.is_ok());
  return *s;
}

struct GradProblem {
  Network<double> net;
  std::vector<double> params;
  int rows;
};

// Random parameters, inputs, labels or targets; dropout masks drawn once.
GradProblem make_problem(const ModelSpec& spec, int rows, unsigned seed) {
  GradProblem p{Network<double>(spec), {}, rows};
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 0.7);
  p.params.resize(static_cast<size_t>(p.net.num_params()));
  for (double& v : p.params) v = n(rng);
  p.net.reserve(rows, true);
  std::uniform_int_distribution<int> label(0, static_cast<int>(spec.output_size()) - 1);
  for (int r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < spec.input_size(); ++j) p.net.input_row(r)[j] = n(rng);
    p.net.label(r) = label(rng);
    // Targets far enough from the outputs that Huber's linear part is used too.
    for (int64_t j = 0; j < spec.output_size(); ++j) p.net.target_row(r)[j] = 2.0 * n(rng);
  }
  Rng masks(seed);
  p.net.draw_dropout(masks, rows);
  return p;
}

double max_rel_error(const std::vector<double>& analytic, const std::vector<double>& numeric) {
  double worst = 0;
  for (size_t i = 0; i < analytic.size(); ++i) {
    const double scale = std::max({1.0, std::abs(analytic[i]), std::abs(numeric[i])});
    worst = std::max(worst, std::abs(analytic[i] - numeric[i]) / scale);
  }
  return worst;
}

std::vector<double> numeric_gradient(GradProblem& p, double scale) {
  std::vector<double> numeric(p.params.size());
  for (size_t i = 0; i < p.params.size(); ++i) {
    const double saved = p.params[i];
    p.params[i] = saved + kH;
    const double up = p.net.run(p.params.data(), p.rows, nullptr, 1.0, true, true).loss_sum * scale;
    p.params[i] = saved - kH;
    const double down = p.net.run(p.params.data(), p.rows, nullptr, 1.0, true, true).loss_sum * scale;
    p.params[i] = saved;
    numeric[i] = (up - down) / (2 * kH);
  }
  return numeric;
}

}  // namespace

TEST_CASE("every layer's and loss's gradient matches finite differences", "[unit][gradcheck]") {
  const std::string json = GENERATE(
      // softmax regression; an MLP with two hidden ReLU layers
      std::string(R"({"input":[6],"layers":[{"type":"dense","out":4}],"loss":"softmax_cross_entropy"})"),
      std::string(R"({"input":[5],"layers":[{"type":"dense","out":7},{"type":"relu"},{"type":"dense","out":6},)"
                  R"({"type":"relu"},{"type":"dense","out":3}],"loss":"softmax_cross_entropy"})"),
      // conv2d (padding) + ReLU + max pooling + flatten + dense
      std::string(R"({"input":[2,6,6],"layers":[{"type":"conv2d","out":3,"kernel":3,"padding":1},{"type":"relu"},)"
                  R"({"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","out":4}],)"
                  R"("loss":"softmax_cross_entropy"})"),
      // strided conv2d + tanh + average pooling, MSE on 3 outputs
      std::string(R"({"input":[2,7,7],"layers":[{"type":"conv2d","out":3,"kernel":3,"stride":2,"padding":1},)"
                  R"({"type":"tanh"},{"type":"avgpool2d","kernel":2,"stride":1},{"type":"flatten"},)"
                  R"({"type":"dense","out":3}],"loss":"mse"})"),
      // conv1d + sigmoid + maxpool1d + strided conv1d + global average pooling, Huber
      std::string(R"({"input":[2,11],"layers":[{"type":"conv1d","out":3,"kernel":3,"padding":1},{"type":"sigmoid"},)"
                  R"({"type":"maxpool1d","kernel":2},{"type":"conv1d","out":4,"kernel":2,"stride":2},{"type":"relu"},)"
                  R"({"type":"global_avgpool"},{"type":"dense","out":2}],"loss":"huber","huber_delta":0.5})"),
      // a 1x1 convolution (no im2col) and global pooling over a plane
      std::string(R"({"input":[3,4,5],"layers":[{"type":"conv2d","out":4,"kernel":1},{"type":"relu"},)"
                  R"({"type":"global_avgpool"},{"type":"dense","out":3}],"loss":"softmax_cross_entropy"})"),
      // dropout with fixed masks
      std::string(R"({"input":[6],"layers":[{"type":"dense","out":8},{"type":"relu"},{"type":"dropout","rate":0.3},)"
                  R"({"type":"dense","out":3}],"loss":"softmax_cross_entropy"})"),
      // an autoencoder: the target is the input
      std::string(R"({"input":[6],"layers":[{"type":"dense","out":3},{"type":"tanh"},{"type":"dense","out":6}],)"
                  R"("loss":"mse","target":"input"})"),
      // activations straight after flatten, and on the input itself
      std::string(R"({"input":[2,3],"layers":[{"type":"sigmoid"},{"type":"flatten"},{"type":"tanh"},)"
                  R"({"type":"dense","out":4},{"type":"sigmoid"},{"type":"tanh"},{"type":"dense","out":2}],"loss":"huber"})"));
  const ModelSpec spec = spec_of(json);
  CAPTURE(spec.describe());
  GradProblem p = make_problem(spec, 7, 11);
  const double scale = 1.0 / p.rows;  // the mean loss, as the trainer uses it
  std::vector<double> grad(p.params.size(), 0.0);
  p.net.run(p.params.data(), p.rows, grad.data(), scale, true, true);
  CHECK(max_rel_error(grad, numeric_gradient(p, scale)) < kTol);
  // A gradient that is all zeros would pass trivially against a broken loss.
  CHECK(std::any_of(grad.begin(), grad.end(), [](double g) { return std::abs(g) > 1e-4; }));

  SECTION("accumulating two halves equals one batch") {
    if (p.net.has_dropout()) return;  // masks are per row position
    std::vector<double> acc(p.params.size(), 0.0);
    // Rows 0..3 then rows 4..6, by moving the second half to the front.
    p.net.run(p.params.data(), 4, acc.data(), scale, true);
    for (int r = 4; r < 7; ++r) {
      std::copy_n(p.net.input_row(r), spec.input_size(), p.net.input_row(r - 4));
      std::copy_n(p.net.target_row(r), spec.output_size(), p.net.target_row(r - 4));
      p.net.label(r - 4) = p.net.label(r);
    }
    p.net.run(p.params.data(), 3, acc.data(), scale, false);
    CHECK(max_rel_error(acc, grad) < 1e-12);
  }
}

TEST_CASE("weight decay and FedProx terms match finite differences", "[unit][gradcheck]") {
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0.0, 1.0);
  const size_t size = 37;
  std::vector<double> w(size), wg(size);
  for (size_t i = 0; i < size; ++i) {
    w[i] = n(rng);
    wg[i] = n(rng);
  }
  const double mu = 0.3, wd = 0.01;
  const auto len = static_cast<Eigen::Index>(size);
  std::vector<double> g(size, 0.0);
  add_proximal_grad<double>(FlatMap<double>(g.data(), len), ConstFlatMap<double>(w.data(), len),
                            ConstFlatMap<double>(wg.data(), len), mu);
  add_weight_decay_grad<double>(FlatMap<double>(g.data(), len), ConstFlatMap<double>(w.data(), len), wd);
  std::vector<double> numeric(size);
  auto value = [&] {
    return regularization_loss<double>(ConstFlatMap<double>(w.data(), len), ConstFlatMap<double>(wg.data(), len), mu, wd);
  };
  for (size_t i = 0; i < size; ++i) {
    const double saved = w[i];
    w[i] = saved + kH;
    const double up = value();
    w[i] = saved - kH;
    const double down = value();
    w[i] = saved;
    numeric[i] = (up - down) / (2 * kH);
  }
  CHECK(max_rel_error(g, numeric) < kTol);
}

namespace {

// The same network in float, fed the double problem's inputs.
Network<float> float_twin(const GradProblem& p, int rows) {
  Network<float> k(p.net.spec());
  k.reserve(rows, true);
  auto& src = const_cast<Network<double>&>(p.net);
  for (int r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < k.input_size(); ++j) k.input_row(r)[j] = static_cast<float>(src.input_row(r)[j]);
    for (int64_t j = 0; j < k.output_size(); ++j) k.target_row(r)[j] = static_cast<float>(src.target_row(r)[j]);
    k.label(r) = src.label(r);
  }
  return k;
}

const char* const kTwinSpec =
    R"({"input":[2,8,8],"layers":[{"type":"conv2d","out":6,"kernel":3,"padding":1},{"type":"relu"},)"
    R"({"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","out":16},{"type":"relu"},)"
    R"({"type":"dense","out":5}],"loss":"softmax_cross_entropy"})";

}  // namespace

TEST_CASE("the float network agrees with the double network", "[unit][gradcheck]") {
  GradProblem p = make_problem(spec_of(kTwinSpec), 32, 3);
  Network<float> k = float_twin(p, 32);
  std::vector<float> pf(p.params.begin(), p.params.end());
  std::vector<double> gd(p.params.size());
  std::vector<float> gf(p.params.size());
  const auto sd = p.net.run(p.params.data(), 32, gd.data(), 1.0 / 32, true);
  const auto sf = k.run(pf.data(), 32, gf.data(), 1.0f / 32, true);
  CHECK(sf.loss_sum == Approx(sd.loss_sum).epsilon(1e-5));
  CHECK(sf.correct == sd.correct);
  std::vector<double> gfd(gf.begin(), gf.end());
  CHECK(max_rel_error(gfd, gd) < 1e-5);
}

TEST_CASE("the portable and the dispatched float paths agree", "[unit][gradcheck]") {
  INFO("dispatched path: " << kernel_isa());
  GradProblem p = make_problem(spec_of(kTwinSpec), 32, 21);
  Network<float> k = float_twin(p, 32);
  std::vector<float> pf(p.params.begin(), p.params.end());
  std::vector<float> g_fast(pf.size()), g_generic(pf.size());
  const auto fast = k.run(pf.data(), 32, g_fast.data(), 1.0f / 32, true);
  const auto generic = k.run(pf.data(), 32, g_generic.data(), 1.0f / 32, true, false, /*force_generic=*/true);
  CHECK(fast.loss_sum == Approx(generic.loss_sum).epsilon(1e-5));
  std::vector<double> a(g_fast.begin(), g_fast.end()), b(g_generic.begin(), g_generic.end());
  CHECK(max_rel_error(a, b) < 1e-5);
}
