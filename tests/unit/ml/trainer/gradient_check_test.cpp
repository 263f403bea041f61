// Finite-difference checks of every gradient the trainer uses, in double so
// that central differences with h = 1e-6 are accurate to ~1e-9 relative and a
// 1e-6 tolerance catches any real mistake (a wrong term is off by O(1)).
#include <catch2/catch.hpp>
#include <random>

#include "edgefed/ml/trainer.hpp"
#include "trainer/mlp_kernel.hpp"
#include "trainer/sgd.hpp"

using namespace edgefed::ml;

namespace {

constexpr double kH = 1e-6;
constexpr double kTol = 1e-6;

struct Problem {
  MlpKernel<double> kernel;
  std::vector<double> params;
  int rows;
};

Problem make(std::vector<int> sizes, int rows, unsigned seed) {
  Problem p{MlpKernel<double>(sizes), {}, rows};
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 0.7);
  p.params.resize(static_cast<size_t>(p.kernel.num_params()));
  for (double& v : p.params) v = n(rng);
  p.kernel.reserve(rows);
  std::uniform_int_distribution<int> label(0, sizes.back() - 1);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < sizes.front(); ++j) p.kernel.input_row(r)[j] = n(rng);
    p.kernel.label(r) = label(rng);
  }
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

}  // namespace

TEST_CASE("dense, ReLU and softmax cross-entropy gradients match finite differences", "[unit][gradcheck]") {
  // Softmax regression (one dense layer), one hidden ReLU layer, two hidden.
  const std::vector<int> sizes = GENERATE(std::vector<int>{6, 4}, std::vector<int>{6, 5, 4}, std::vector<int>{5, 7, 6, 3});
  CAPTURE(sizes);
  Problem p = make(sizes, 9, 11);
  const double scale = 1.0 / p.rows;  // the mean loss, as the trainer uses it
  std::vector<double> grad(p.params.size(), 0.0);
  p.kernel.run(p.params.data(), p.rows, grad.data(), scale, true);
  std::vector<double> numeric(p.params.size());
  for (size_t i = 0; i < p.params.size(); ++i) {
    const double saved = p.params[i];
    p.params[i] = saved + kH;
    const double up = p.kernel.run(p.params.data(), p.rows, nullptr, 1.0, true).loss_sum * scale;
    p.params[i] = saved - kH;
    const double down = p.kernel.run(p.params.data(), p.rows, nullptr, 1.0, true).loss_sum * scale;
    p.params[i] = saved;
    numeric[i] = (up - down) / (2 * kH);
  }
  CHECK(max_rel_error(grad, numeric) < kTol);

  SECTION("accumulating two halves equals one batch") {
    std::vector<double> acc(p.params.size(), 0.0);
    // Rows 0..4 then rows 5..8, by moving the second half to the front.
    p.kernel.run(p.params.data(), 5, acc.data(), scale, true);
    for (int r = 5; r < 9; ++r) {
      std::copy_n(p.kernel.input_row(r), sizes.front(), p.kernel.input_row(r - 5));
      p.kernel.label(r - 5) = p.kernel.label(r);
    }
    p.kernel.run(p.params.data(), 4, acc.data(), scale, false);
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

TEST_CASE("the float kernel agrees with the double kernel", "[unit][gradcheck]") {
  Problem p = make({20, 16, 5}, 32, 3);
  MlpKernel<float> k({20, 16, 5});
  k.reserve(32);
  for (int r = 0; r < 32; ++r) {
    for (int j = 0; j < 20; ++j) k.input_row(r)[j] = static_cast<float>(p.kernel.input_row(r)[j]);
    k.label(r) = p.kernel.label(r);
  }
  std::vector<float> pf(p.params.begin(), p.params.end());
  std::vector<double> gd(p.params.size());
  std::vector<float> gf(p.params.size());
  const auto sd = p.kernel.run(p.params.data(), 32, gd.data(), 1.0 / 32, true);
  const auto sf = k.run(pf.data(), 32, gf.data(), 1.0f / 32, true);
  CHECK(sf.loss_sum == Approx(sd.loss_sum).epsilon(1e-5));
  CHECK(sf.correct == sd.correct);
  std::vector<double> gfd(gf.begin(), gf.end());
  CHECK(max_rel_error(gfd, gd) < 1e-5);
}

TEST_CASE("the portable and the dispatched float paths agree", "[unit][gradcheck]") {
  INFO("dispatched path: " << kernel_isa());
  Problem p = make({30, 16, 10}, 32, 21);
  MlpKernel<float> k({30, 16, 10});
  k.reserve(32);
  for (int r = 0; r < 32; ++r) {
    for (int j = 0; j < 30; ++j) k.input_row(r)[j] = static_cast<float>(p.kernel.input_row(r)[j]);
    k.label(r) = p.kernel.label(r);
  }
  std::vector<float> pf(p.params.begin(), p.params.end());
  std::vector<float> g_fast(pf.size()), g_generic(pf.size());
  const auto fast = k.run(pf.data(), 32, g_fast.data(), 1.0f / 32, true);
  const auto generic = k.run(pf.data(), 32, g_generic.data(), 1.0f / 32, true, /*force_generic=*/true);
  CHECK(fast.loss_sum == Approx(generic.loss_sum).epsilon(1e-5));
  std::vector<double> a(g_fast.begin(), g_fast.end()), b(g_generic.begin(), g_generic.end());
  CHECK(max_rel_error(a, b) < 1e-5);
}
