// Central training on the real Fashion-MNIST: one epoch of the 784-128-10 MLP
// over all 60,000 images must clear 0.83 test accuracy. The default task's lr 0.05
// with momentum 0.9 is noisy from epoch to epoch (0.80-0.83 after one epoch
// across seeds), so this uses lr 0.01, where one epoch lands at 0.840-0.846
// over four seeds in release builds: a point of margin for seeds and compiler
// flags, while a wrong gradient or optimizer lands far below. About 20 s under
// ASan, 1 s in release.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "edgefed/ml/idx_reader.hpp"
#include "edgefed/ml/trainer.hpp"

using namespace edgefed;
using namespace edgefed::ml;

TEST_CASE("the 784-128-10 MLP learns Fashion-MNIST centrally to 0.83 in one epoch", "[unit][trainer][fashion]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not installed; skipped");
    return;
  }
  auto train = load_idx(dir, IdxSplit::kTrain);
  auto test = load_idx(dir, IdxSplit::kTest);
  REQUIRE((train.is_ok() && test.is_ok()));
  const Dataset train_set = Dataset::own(std::move(train).value());
  const Dataset test_set = Dataset::own(std::move(test).value());
  auto layout = ModelLayout::mlp("784-128-10");
  REQUIRE(layout.is_ok());
  auto trainer = Trainer::create(*layout);
  REQUIRE(trainer.is_ok());
  Model model = init_mlp(*layout, 1);
  TrainOptions o;  // defaults: 1 epoch, batch 32, momentum 0.9
  o.lr = 0.01f;
  o.seed = 1;
  auto r = trainer->train(model, train_set, o);
  REQUIRE(r.is_ok());
  for (size_t i = 0; i < model.params.size(); ++i) model.params[i] += r->delta[i];
  auto e = trainer->evaluate(model, test_set);
  REQUIRE(e.is_ok());
  WARN("1 epoch: test accuracy " << e->accuracy << ", train accuracy " << r->train_accuracy << ", "
                                  << r->samples_per_s << " samples/s, " << r->seconds << " s");
  CHECK(e->accuracy >= 0.83);
  CHECK(r->samples_seen == 60000);
}
