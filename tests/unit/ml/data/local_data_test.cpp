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

TEST_CASE("csv norm=fit standardises an agent's features with its training rows", "[unit][local_data]") {
  TempDir dir;
  std::string csv = "a,b,label\n";
  for (int i = 0; i < 100; ++i)
    csv += std::to_string(1000 + 10 * i) + "," + std::to_string(0.001 * (i % 7)) + "," + std::to_string(i % 3) + "\n";
  const std::string path = dir.write("s.csv", csv);
  auto raw_spec = parse_data_spec("csv:" + path + ":label=label:1/2:val=0.2");
  auto fit_spec = parse_data_spec("csv:" + path + ":label=label:1/2:val=0.2:norm=fit");
  REQUIRE(raw_spec.is_ok());
  REQUIRE(fit_spec.is_ok());
  CHECK_FALSE(raw_spec->normalize);  // csv: raw unless asked
  CHECK(to_string(*fit_spec).find(":norm=fit") != std::string::npos);
  auto raw = load_local_data(*raw_spec);
  auto fit = load_local_data(*fit_spec);
  REQUIRE(raw.is_ok());
  REQUIRE(fit.is_ok());
  CHECK_FALSE(raw->normalizer.has_value());
  REQUIRE(fit->normalizer.has_value());
  REQUIRE(fit->normalizer->channels() == 2);
  // The same samples in the same order, labels untouched, features mapped.
  REQUIRE(fit->train.size() == raw->train.size());
  REQUIRE(fit->validation.size() == raw->validation.size());
  double sum[2] = {0, 0}, sq[2] = {0, 0};
  for (int64_t i = 0; i < fit->train.size(); ++i) {
    CHECK(fit->train.label(i) == raw->train.label(i));
    for (int c = 0; c < 2; ++c) {
      const double z = fit->train.features(i)[c];
      CHECK(z == Approx(fit->normalizer->apply(c, raw->train.features(i)[c])).margin(1e-5));
      sum[c] += z;
      sq[c] += z * z;
    }
  }
  const double n = static_cast<double>(fit->train.size());
  for (int c = 0; c < 2; ++c) {
    CHECK(sum[c] / n == Approx(0).margin(1e-5));
    CHECK(sq[c] / n == Approx(1).epsilon(1e-4));
  }
  CHECK(fit->validation.label(0) == raw->validation.label(0));
  CHECK(fit->validation.features(0)[0] ==
        Approx(fit->normalizer->apply(0, raw->validation.features(0)[0])).margin(1e-5));
  CHECK(parse_data_spec("csv:" + path + ":norm=model").status().code() == edgefed::Code::kInvalidArgument);
}
