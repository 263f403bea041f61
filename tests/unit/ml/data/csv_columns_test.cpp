// CSV column selection, categorical labels and regression targets.
#include <catch2/catch.hpp>

#include <cmath>

#include "edgefed/ml/csv_reader.hpp"
#include "edgefed/ml/local_data.hpp"
#include "temp_dir.hpp"
#include "vega_data.hpp"

using namespace edgefed::ml;
using edgefed::test::TempDir;

namespace {

const std::vector<std::string> kWeatherFeatures = {"precipitation", "temp_max", "temp_min", "wind"};

std::vector<float> csvcol_row(const FeatureMatrix& m, Eigen::Index r) {
  return std::vector<float>(m.row(r).data(), m.row(r).data() + m.cols());
}

}  // namespace

TEST_CASE("seattle-weather: a string label column becomes sorted categories", "[unit][csv]") {
  const std::string path = edgefed::test::vega_file("seattle-weather.csv");
  EDGEFED_SKIP_WITHOUT(path);
  CsvOptions o;
  o.label = "weather";
  o.columns = kWeatherFeatures;
  auto r = read_csv(path, o);
  REQUIRE(r.is_ok());
  CHECK(r->size() == 1461);
  CHECK(r->dim() == 4);
  CHECK(r->has_labels());
  CHECK(r->target_dim() == 0);
  CHECK(r->num_classes == 5);
  CHECK(r->class_names == std::vector<std::string>{"drizzle", "fog", "rain", "snow", "sun"});
  std::vector<int64_t> counts(5, 0);
  for (int32_t y : r->labels) ++counts[static_cast<size_t>(y)];
  CHECK(counts == std::vector<int64_t>{54, 411, 259, 23, 714});
  // 2012/01/01,0.0,12.8,5.0,4.7,drizzle
  CHECK(r->labels[0] == 0);
  CHECK(csvcol_row(r->features, 0) == std::vector<float>{0.0f, 12.8f, 5.0f, 4.7f});
  // 2012/04/10,0.0,17.8,8.9,3.2,rain
  CHECK(r->labels[100] == 2);
  CHECK(csvcol_row(r->features, 100) == std::vector<float>{0.0f, 17.8f, 8.9f, 3.2f});
  // 2015/12/31,0.0,5.6,-2.1,3.5,sun
  CHECK(r->labels[1460] == 4);
  CHECK(csvcol_row(r->features, 1460) == std::vector<float>{0.0f, 5.6f, -2.1f, 3.5f});

  SECTION("columns in another order, by index and name") {
    CsvOptions p;
    p.label = "5";
    p.columns = {"wind", "1"};
    auto s = read_csv(path, p);
    REQUIRE(s.is_ok());
    CHECK(csvcol_row(s->features, 100) == std::vector<float>{3.2f, 0.0f});
    CHECK(s->labels == r->labels);
  }
  SECTION("without columns= the date column is a feature, and not a number") {
    CsvOptions p;
    p.label = "weather";
    auto s = read_csv(path, p);
    REQUIRE_FALSE(s.is_ok());
    CHECK_THAT(s.status().message(),
               Catch::Contains("seattle-weather.csv:2: feature field 0 '2012/01/01' is not a number"));
  }
  SECTION("through the --data spec, sliced between agents") {
    auto spec = parse_data_spec("csv:" + path + ":label=weather:columns=precipitation,temp_max,temp_min,wind:0/2");
    REQUIRE(spec.is_ok());
    auto d = load_local_data(*spec);
    REQUIRE(d.is_ok());
    CHECK(d->train.size() + d->validation.size() == 730);
    CHECK(d->train.num_classes() == 5);
    CHECK(d->train.store()->class_names.size() == 5);
  }
}

TEST_CASE("seattle-weather: regression targets", "[unit][csv]") {
  const std::string path = edgefed::test::vega_file("seattle-weather.csv");
  EDGEFED_SKIP_WITHOUT(path);
  CsvOptions o;
  o.targets = {"temp_max", "temp_min"};
  o.columns = {"precipitation", "wind"};
  auto r = read_csv(path, o);
  REQUIRE(r.is_ok());
  CHECK(r->size() == 1461);
  CHECK(r->dim() == 2);
  CHECK(r->target_dim() == 2);
  CHECK(r->labels.empty());
  CHECK_FALSE(r->has_labels());
  CHECK(csvcol_row(r->targets, 0) == std::vector<float>{12.8f, 5.0f});
  CHECK(csvcol_row(r->targets, 100) == std::vector<float>{17.8f, 8.9f});
  CHECK(csvcol_row(r->targets, 1460) == std::vector<float>{5.6f, -2.1f});
  CHECK(csvcol_row(r->features, 1460) == std::vector<float>{0.0f, 3.5f});

  auto spec = parse_data_spec("csv:" + path + ":target=temp_max:columns=temp_min,wind:1/3:val=0.2");
  REQUIRE(spec.is_ok());
  auto d = load_local_data(*spec);
  REQUIRE(d.is_ok());
  CHECK(d->train.size() + d->validation.size() == 1461 * 2 / 3 - 1461 / 3);
  CHECK(d->train.target_dim() == 1);
  CHECK(d->validation.size() == 97);  // round(0.2 * 487)
  CHECK(d->train.class_counts().empty());
}

TEST_CASE("CSV column selection and labels on small files", "[unit][csv]") {
  TempDir dir;
  SECTION("unselected columns are never parsed") {
    CsvOptions o;
    o.label = "d";
    o.columns = {"b", "0"};
    auto r = read_csv(dir.write("a.csv", "a,b,c,d\n1,2,x,0\n3,4,y,1\n"), o);
    REQUIRE(r.is_ok());
    CHECK(csvcol_row(r->features, 0) == std::vector<float>{2, 1});
    CHECK(csvcol_row(r->features, 1) == std::vector<float>{4, 3});
    CHECK(r->labels == std::vector<int32_t>{0, 1});
    CHECK(r->class_names.empty());
  }
  SECTION("one non-numeric label makes the column categorical, byte order") {
    auto r = read_csv(dir.write("b.csv", "1.5,rain\n2,10\n3,Rain\n4,rain\n"));
    REQUIRE(r.is_ok());
    CHECK(r->class_names == std::vector<std::string>{"10", "Rain", "rain"});
    CHECK(r->labels == std::vector<int32_t>{2, 0, 1, 2});
    CHECK(r->num_classes == 3);
  }
  SECTION("a declared class count above the distinct labels") {
    CsvOptions o;
    o.num_classes = 4;
    auto r = read_csv(dir.write("c.csv", "1,b\n2,a\n"), o);
    REQUIRE(r.is_ok());
    CHECK(r->num_classes == 4);
    CHECK(r->labels == std::vector<int32_t>{1, 0});
  }
  SECTION("targets by index without a header; the rest are features") {
    CsvOptions o;
    o.targets = {"2", "0"};
    auto r = read_csv(dir.write("d.csv", "1,2,3,4\n5,6,7,8\n"), o);
    REQUIRE(r.is_ok());
    CHECK(csvcol_row(r->targets, 1) == std::vector<float>{7, 5});
    CHECK(csvcol_row(r->features, 1) == std::vector<float>{6, 8});
  }
  SECTION("a regression csv is split iid through the spec") {
    std::string csv = "x,y\n";
    for (int i = 0; i < 50; ++i) csv += std::to_string(i) + "," + std::to_string(2 * i) + "\n";
    auto spec = parse_data_spec("csv:" + dir.write("e.csv", csv) + ":target=y:0/2:val=0.2");
    REQUIRE(spec.is_ok());
    auto d = load_local_data(*spec);
    REQUIRE(d.is_ok());
    CHECK(d->train.size() == 20);
    CHECK(d->validation.size() == 5);
    for (int64_t i = 0; i < d->train.size(); ++i) CHECK(d->train.target(i)[0] == 2 * d->train.features(i)[0]);
    auto noisy = parse_data_spec("csv:" + dir.file("e.csv") + ":target=y:corrupt=noise");
    REQUIRE(noisy.is_ok());
    auto n = load_local_data(*noisy);
    REQUIRE(n.is_ok());
    CHECK(n->train.target_dim() == 1);
    CHECK(n->train.store()->labels.empty());
  }
}

TEST_CASE("bad CSV column options give errors naming the column", "[unit][csv]") {
  TempDir dir;
  const std::string path = dir.write("x.csv", "date,a,b,kind\n2020/01/01,1,2,up\n2020/01/02,3,,down\n");
  struct Case {
    std::string name;
    std::string label;
    std::vector<std::string> targets, columns;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"unknown feature column", "kind", {}, {"a", "nope"},
       "x.csv:1: missing feature column 'nope' (header: date,a,b,kind)"},
      {"feature index out of range", "kind", {}, {"9"}, "missing feature column 9 (header has 4 columns)"},
      {"label also a feature", "kind", {}, {"a", "kind"}, "column 'kind' is picked twice (label and feature)"},
      {"feature twice by name and index", "kind", {}, {"a", "1"}, "column '1' is picked twice (feature and feature)"},
      {"label and target", "kind", {"a"}, {}, "label=kind and target columns are exclusive"},
      {"non-numeric target", "last", {"kind"}, {"a"}, "x.csv:2: target field 3 'up' is not a number"},
      {"empty feature in a selected column", "kind", {}, {"b"}, "x.csv:3: feature field 2 '' is not a number"},
      {"unknown target", "last", {"c"}, {"a"}, "missing target column 'c'"},
      {"date column is a feature by default", "kind", {}, {}, "x.csv:2: feature field 0 '2020/01/01' is not a number"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CsvOptions o;
    o.label = c.label;
    o.targets = c.targets;
    o.columns = c.columns;
    auto r = read_csv(path, o);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == edgefed::Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains(c.expected));
  }
  SECTION("more distinct strings than classes=") {
    CsvOptions o;
    o.num_classes = 1;
    auto r = read_csv(dir.write("y.csv", "1,a\n2,b\n"), o);
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.status().message(), Catch::Contains("has 2 distinct values, more than classes=1"));
  }
  SECTION("an empty label") {
    auto r = read_csv(dir.write("z.csv", "1,a\n2,\n"));
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.status().message(), Catch::Contains("z.csv:2: label field 1 '' is empty"));
  }
}

TEST_CASE("random text never crashes the CSV and series readers", "[unit][csv][series]") {
  TempDir dir;
  const std::string alphabet = "0123456789,,,..--ab \n\n#e";
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>(state >> 33);
  };
  const std::vector<std::string> csv_specs = {
      "", ":label=0", ":label=a", ":target=1", ":target=0,2:columns=1", ":columns=1,0:label=2", ":classes=2"};
  const std::vector<std::string> series_specs = {
      ":window=1:val=0", ":window=2:horizon=2:fault=spikes", ":columns=0:target=1:window=1:fault=stuck",
      ":1/3:window=1:fault=drift", ":target=0:window=3:norm=none"};
  for (int i = 0; i < 300; ++i) {
    std::string text = i % 2 ? "a,b,c\n" : "";
    const size_t len = next() % 200;
    for (size_t k = 0; k < len; ++k) text += alphabet[next() % alphabet.size()];
    const std::string path = dir.write("r.csv", text);
    for (const auto& opt : csv_specs) {
      auto spec = parse_data_spec("csv:" + path + opt);
      REQUIRE(spec.is_ok());
      auto d = load_local_data(*spec);
      if (!d) CHECK_FALSE(d.status().message().empty());
    }
    for (const auto& opt : series_specs) {
      auto spec = parse_data_spec("series:" + path + opt);
      REQUIRE(spec.is_ok());
      auto d = load_local_data(*spec);
      if (!d) {
        CHECK_FALSE(d.status().message().empty());
        continue;
      }
      for (int64_t r = 0; r < d->train.size(); ++r)
        for (int64_t c = 0; c < d->train.dim(); ++c) REQUIRE(std::isfinite(d->train.features(r)[c]));
    }
  }
}
