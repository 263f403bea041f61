#include "edgefed/ml/evaluator.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <initializer_list>
#include <memory>

#include "synthetic.hpp"

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
    CHECK(e->data()->dim() == 784);
    auto r = e->evaluate(init_mlp(layout("784-16-10"), 1));
    REQUIRE(r.is_ok());
    // An untrained 10-class model is near chance: loss near ln(10).
    CHECK(r->accuracy < 0.4);
    CHECK(r->loss > 1.5);
  }
}
