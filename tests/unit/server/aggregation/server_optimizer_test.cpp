// Server optimizers against a plain double-precision transcription of Reddi
// et al. 2021, Algorithm 2 (and FedAvgM), over several versions, and the
// state()/restore() round trip that a restart relies on.
#include "server/aggregation/server_optimizer.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "server/aggregation/adaptive_optimizer.hpp"
#include "server/aggregation/optimizer_state.hpp"

using namespace edgefed::server;

namespace {

// The reference: everything in double, no rounding of the moments.
struct Reference {
  std::string name;
  ServerOptimizerOptions o;
  std::vector<double> x, m, v;

  void step(const std::vector<float>& d) {
    if (m.empty()) {
      m.assign(x.size(), 0.0);
      v.assign(x.size(), o.tau * o.tau);
    }
    for (size_t i = 0; i < x.size(); ++i) {
      const double g = d[i];
      if (name == "fedavgm") {
        m[i] = o.momentum * m[i] + g;
        x[i] += o.lr * m[i];
        continue;
      }
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      if (name == "fedadagrad") v[i] = v[i] + g * g;
      if (name == "fedadam") v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      if (name == "fedyogi") {
        const double s = v[i] - g * g > 0 ? 1.0 : (v[i] - g * g < 0 ? -1.0 : 0.0);
        v[i] = v[i] - (1 - o.beta2) * g * g * s;
      }
      x[i] += o.lr * m[i] / (std::sqrt(v[i]) + o.tau);
    }
  }
};

std::vector<std::vector<float>> random_deltas(size_t steps, size_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.05f);
  std::vector<std::vector<float>> out(steps, std::vector<float>(dim));
  for (auto& d : out) {
    for (auto& x : d) x = n(rng);
  }
  out[1][0] = 0.0f;  // a zero pseudo-gradient coordinate
  out[2][1] = out[1][1];
  return out;
}

}  // namespace

TEST_CASE("stateful server optimizers follow the reference loop over 5 versions", "[unit][aggregation]") {
  const std::string name = GENERATE("fedavgm", "fedadagrad", "fedadam", "fedyogi");
  INFO(name);
  ServerOptimizerOptions o;
  o.kind = *edgefed::parse_enum<ServerOptimizerKind>(name);
  o.lr = 0.01;
  o.momentum = 0.8;
  o.beta1 = 0.9;
  o.beta2 = 0.99;
  o.tau = 1e-3;
  auto opt = make_server_optimizer(o);
  REQUIRE(opt.is_ok());
  CHECK((*opt)->name() == name);
  CHECK((*opt)->state().empty());  // nothing to store before the first step

  constexpr size_t kDim = 64;
  std::vector<float> params(kDim);
  for (size_t i = 0; i < kDim; ++i) params[i] = 0.01f * static_cast<float>(i) - 0.3f;
  Reference ref{name, o, std::vector<double>(params.begin(), params.end()), {}, {}};
  const auto deltas = random_deltas(5, kDim, 7);
  for (const auto& d : deltas) {
    (*opt)->apply(params, d);
    ref.step(d);
    for (size_t i = 0; i < kDim; ++i) {
      INFO("coordinate " << i);
      // Moments are kept as float: a few float roundings per step.
      CHECK(params[i] == Approx(ref.x[i]).epsilon(1e-5).margin(1e-6));
    }
  }
  auto* adaptive = dynamic_cast<AdaptiveServerOptimizer*>(opt->get());
  REQUIRE(adaptive != nullptr);
  CHECK(adaptive->steps() == 5);
  for (size_t i = 0; i < kDim; ++i) CHECK(adaptive->first_moment()[i] == Approx(ref.m[i]).epsilon(1e-5).margin(1e-7));
  if (name != "fedavgm") {
    for (size_t i = 0; i < kDim; ++i) CHECK(adaptive->second_moment()[i] == Approx(ref.v[i]).epsilon(1e-5).margin(1e-9));
  }
}

TEST_CASE("fedadam's first step moves every coordinate by lr in the delta's direction", "[unit][aggregation]") {
  // m = (1-b1) d, v = tau^2 b2 + (1-b2) d^2: with b1 = 0.9, b2 = 0.99 and
  // |d| >> tau the ratio m / sqrt(v) is sign(d): the well-known Adam step.
  ServerOptimizerOptions o;
  o.kind = ServerOptimizerKind::kFedAdam;
  o.lr = 0.01;
  auto opt = make_server_optimizer(o);
  REQUIRE(opt.is_ok());
  std::vector<float> params{0.0f, 0.0f};
  (*opt)->apply(params, std::vector<float>{2.0f, -0.5f});
  CHECK(params[0] == Approx(0.01).epsilon(0.03));
  CHECK(params[1] == Approx(-0.01).epsilon(0.03));
}

TEST_CASE("state() restored into a fresh optimizer continues bit for bit", "[unit][aggregation]") {
  const std::string name = GENERATE("fedavgm", "fedadagrad", "fedadam", "fedyogi");
  INFO(name);
  ServerOptimizerOptions o;
  o.kind = *edgefed::parse_enum<ServerOptimizerKind>(name);
  o.lr = 0.05;
  constexpr size_t kDim = 33;
  const auto deltas = random_deltas(6, kDim, 11);
  auto a = make_server_optimizer(o).value();
  std::vector<float> pa(kDim, 0.5f);
  for (size_t s = 0; s < 3; ++s) a->apply(pa, deltas[s]);
  const std::string saved = a->state();
  REQUIRE(!saved.empty());

  auto b = make_server_optimizer(o).value();
  REQUIRE(b->restore(saved).is_ok());
  CHECK(b->state() == saved);
  std::vector<float> pb = pa;
  for (size_t s = 3; s < 6; ++s) {
    a->apply(pa, deltas[s]);
    b->apply(pb, deltas[s]);
    CHECK(pa == pb);
    CHECK(a->state() == b->state());
  }
  // A fresh optimizer (no restore) takes a different path.
  auto c = make_server_optimizer(o).value();
  std::vector<float> pc(kDim, 0.5f);
  for (size_t s = 0; s < 3; ++s) c->apply(pc, deltas[s + 3]);
  CHECK(pc != pa);
}

TEST_CASE("restore refuses another optimizer's or corrupt state and starts fresh", "[unit][aggregation]") {
  ServerOptimizerOptions o;
  o.kind = ServerOptimizerKind::kFedAdam;
  auto adam = make_server_optimizer(o).value();
  std::vector<float> p(4, 0.0f);
  adam->apply(p, std::vector<float>{1, 2, 3, 4});
  const std::string state = adam->state();

  o.kind = ServerOptimizerKind::kFedYogi;
  auto yogi = make_server_optimizer(o).value();
  CHECK(yogi->restore(state).code() == edgefed::Code::kInvalidArgument);
  CHECK(yogi->state().empty());
  CHECK(!adam->restore(state.substr(0, state.size() - 1)).is_ok());
  CHECK(!adam->restore("edgefed-optimizer/1 fedadam 1 1000000000 2\n").is_ok());
  CHECK(!adam->restore("garbage").is_ok());
  CHECK(adam->restore("").is_ok());
  CHECK(adam->state().empty());

  OptimizerState nan_state{"fedadam", 1, {{NAN}, {1.0f}}};
  CHECK(!adam->restore(encode_optimizer_state(nan_state)).is_ok());
  OptimizerState good{"fedadam", 3, {{1.5f, -2.0f}, {0.25f, 4.0f}}};
  REQUIRE(adam->restore(encode_optimizer_state(good)).is_ok());
  CHECK(adam->state() == encode_optimizer_state(good));
  adam->reset();
  CHECK(adam->state().empty());
}

TEST_CASE("server optimizer parameters out of range are refused", "[unit][aggregation]") {
  auto refused = [](auto mutate) {
    ServerOptimizerOptions o;
    mutate(o);
    return make_server_optimizer(o).status().code() == edgefed::Code::kInvalidArgument;
  };
  CHECK_FALSE(edgefed::parse_enum<ServerOptimizerKind>("adam"));  // --server-optimizer refuses it
  CHECK(refused([](auto& o) { o.lr = 0; }));
  CHECK(refused([](auto& o) { o.kind = ServerOptimizerKind::kFedAvgM; o.momentum = 1.0; }));
  CHECK(refused([](auto& o) { o.kind = ServerOptimizerKind::kFedAdam; o.beta1 = -0.1; }));
  CHECK(refused([](auto& o) { o.kind = ServerOptimizerKind::kFedYogi; o.beta2 = 1.0; }));
  CHECK(refused([](auto& o) { o.kind = ServerOptimizerKind::kFedAdagrad; o.tau = 0; }));
  for (const char* name : {"sgd", "fedavgm", "fedadagrad", "fedadam", "fedyogi"}) {
    ServerOptimizerOptions o;
    o.kind = *edgefed::parse_enum<ServerOptimizerKind>(name);
    CHECK(make_server_optimizer(o).is_ok());
  }
}
