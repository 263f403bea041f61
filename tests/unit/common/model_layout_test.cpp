#include "edgefed/model_layout.hpp"

#include <catch2/catch.hpp>

using namespace edgefed;

TEST_CASE("MLP layout has weights [out,in] and biases, back to back", "[unit][layout]") {
  auto l = ModelLayout::mlp("mlp:784-128-10");
  REQUIRE(l.is_ok());
  REQUIRE(l->tensors().size() == 4);
  CHECK(l->tensors()[0].name == "layers.0.weight");
  CHECK(l->tensors()[0].shape == std::vector<int64_t>{128, 784});
  CHECK(l->tensors()[3].shape == std::vector<int64_t>{10});
  CHECK(l->size() == 784 * 128 + 128 + 128 * 10 + 10);
  CHECK(l->offset(1) == 784 * 128);
  CHECK(l->mlp_sizes() == std::vector<int>{784, 128, 10});
  CHECK(l->describe() == "784-128-10");
}

TEST_CASE("fingerprints tell layouts apart and agree on equal ones", "[unit][layout]") {
  auto a = ModelLayout::mlp("784-128-10");
  auto b = ModelLayout::mlp("mlp:784-128-10");
  auto c = ModelLayout::mlp("784-64-10");
  auto d = ModelLayout::create({{"x", {128, 784}}, {"y", {10}}});
  REQUIRE((a.is_ok() && b.is_ok() && c.is_ok() && d.is_ok()));
  CHECK(a->fingerprint().size() == 16);
  CHECK(a->fingerprint() == b->fingerprint());
  CHECK(a->fingerprint() != c->fingerprint());
  CHECK(a->fingerprint() != d->fingerprint());
  CHECK(d->mlp_sizes().empty());
}

TEST_CASE("bad layouts are refused with a reason", "[unit][layout]") {
  auto spec = GENERATE(as<std::string>{}, "", "mlp:", "784", "784-x-10", "784--10", "mlp:784-0-10",
                       "99999999999-10");
  auto l = ModelLayout::mlp(spec);
  CHECK_FALSE(l.is_ok());
  CHECK(l.status().code() == Code::kInvalidArgument);
  CHECK(ModelLayout::create({{"a", {2}}, {"a", {3}}}).status().code() == Code::kInvalidArgument);
  CHECK_FALSE(ModelLayout::create({}).is_ok());
  CHECK_FALSE(ModelLayout::create({{"__metadata__", {2}}}).is_ok());
}

TEST_CASE("init_mlp is deterministic, bounded and leaves biases at zero", "[unit][layout]") {
  auto l = ModelLayout::mlp("20-8-3");
  REQUIRE(l.is_ok());
  Model a = init_mlp(*l, 42), b = init_mlp(*l, 42), c = init_mlp(*l, 43);
  CHECK(a.params == b.params);
  CHECK(a.params != c.params);
  for (float v : a.tensor(1)) CHECK(v == 0.0f);
  const float bound = std::sqrt(6.0f / 20.0f);
  for (float v : a.tensor(0)) CHECK(std::abs(v) <= bound);
}
