#include "edgefed/ml/local_data.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "temp_dir.hpp"

using namespace edgefed::ml;
using edgefed::test::TempDir;

namespace {
const char* kFashionDir = "/usr/share/datasets/fashion-mnist";
bool have_fashion() { return std::filesystem::exists(std::string(kFashionDir) + "/train-images-idx3-ubyte.gz"); }
}  // namespace

TEST_CASE("an agent loads only its slice, the same one a shared full set gives", "[unit][local_data]") {
  if (!have_fashion()) {
    WARN("Fashion-MNIST not installed; skipped");
    return;
  }
  auto spec = parse_data_spec(std::string("idx:") + kFashionDir + ":3/100:dirichlet:0.5:seed=7");
  REQUIRE(spec.is_ok());
  auto mine = load_local_data(*spec);
  REQUIRE(mine.is_ok());
  const int64_t total = mine->train.size() + mine->validation.size();
  CHECK(mine->train.store()->size() == total);  // nothing but the slice is held
  CHECK(mine->validation.size() == static_cast<int64_t>(std::llround(0.1 * static_cast<double>(total))));

  auto full = load_idx(kFashionDir, IdxSplit::kTrain);
  REQUIRE(full.is_ok());
  auto shared = std::make_shared<const DataStore>(std::move(full).value());
  auto view = slice_local_data(shared, *spec);
  REQUIRE(view.is_ok());
  CHECK(view->train.store() == shared);  // a view, no copy
  REQUIRE(view->train.size() == mine->train.size());
  REQUIRE(view->validation.size() == mine->validation.size());
  for (int64_t i = 0; i < mine->train.size(); ++i) {
    REQUIRE(view->train.label(i) == mine->train.label(i));
    REQUIRE(std::equal(mine->train.features(i), mine->train.features(i) + 784, view->train.features(i)));
  }
  for (int64_t i = 0; i < mine->validation.size(); ++i)
    REQUIRE(view->validation.label(i) == mine->validation.label(i));
}

TEST_CASE("csv local data is partitioned and split like idx", "[unit][local_data]") {
  TempDir dir;
  std::string csv;
  for (int i = 0; i < 100; ++i) csv += std::to_string(i) + "," + std::to_string(i % 3) + "\n";
  const std::string path = dir.write("s.csv", csv);
  auto spec = parse_data_spec("csv:" + path + ":1/2:val=0.2");
  REQUIRE(spec.is_ok());
  auto d = load_local_data(*spec);
  REQUIRE(d.is_ok());
  CHECK(d->train.size() == 40);
  CHECK(d->validation.size() == 10);
  CHECK(d->train.num_classes() == 3);
  auto stream = parse_data_spec("stream:-");
  REQUIRE(stream.is_ok());
  CHECK_FALSE(load_local_data(*stream).is_ok());
  auto missing = parse_data_spec("idx:" + dir.str());
  REQUIRE(missing.is_ok());
  auto m = load_local_data(*missing);
  REQUIRE_FALSE(m.is_ok());
  CHECK(m.status().code() == edgefed::Code::kIo);
}
