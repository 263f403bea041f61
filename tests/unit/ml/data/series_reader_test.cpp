// Sliding windows over a time series: layout, contiguous partition,
// validation on the future, normalisation and sensor faults.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "edgefed/ml/corrupt.hpp"
#include "edgefed/ml/local_data.hpp"
#include "edgefed/ml/series_reader.hpp"
#include "temp_dir.hpp"
#include "vega_data.hpp"

using namespace edgefed::ml;
using edgefed::test::TempDir;

namespace {

// Row t: a = t, b = 100 + 2t, plus a leading date column that must be skipped.
std::string series_linear_csv(int n) {
  std::string csv = "date,a,b\n";
  for (int t = 0; t < n; ++t)
    csv += "2010/01/01 " + std::to_string(t) + ":00," + std::to_string(t) + "," + std::to_string(100 + 2 * t) + "\n";
  return csv;
}

// A non-trivial single-column series: v_t = 10 + 3 sin(t / 5) + (t % 7).
double series_wave(int t) { return 10.0 + 3.0 * std::sin(t / 5.0) + (t % 7); }

std::string series_wave_csv(int n) {
  std::string csv = "v\n";
  char buf[64];
  for (int t = 0; t < n; ++t) {
    std::snprintf(buf, sizeof buf, "%.17g\n", series_wave(t));
    csv += buf;
  }
  return csv;
}

LocalData series_load(const std::string& spec_text) {
  auto spec = parse_data_spec(spec_text);
  REQUIRE(spec.is_ok());
  auto d = load_local_data(*spec);
  if (!d) FAIL(d.status().message());
  return std::move(d).value();
}

double series_pstdev(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / static_cast<double>(v.size()));
}

}  // namespace

TEST_CASE("series windows are channel-major inputs and the next values", "[unit][series]") {
  TempDir dir;
  const std::string path = dir.write("s.csv", series_linear_csv(20));
  SECTION("two channels, one target, horizon 2") {
    auto d = series_load("series:" + path + ":columns=a,b:target=b:window=4:horizon=2:val=0:norm=none");
    CHECK(d.train.size() == 15);  // 20 - 4 - 2 + 1
    CHECK(d.validation.empty());
    CHECK(d.train.dim() == 8);
    CHECK(d.train.target_dim() == 2);
    CHECK_FALSE(d.normalizer.has_value());
    REQUIRE(d.series.has_value());
    CHECK(d.series->window == 4);
    CHECK(d.series->horizon == 2);
    CHECK(d.series->channels == std::vector<std::string>{"a", "b"});
    CHECK(d.series->targets == std::vector<std::string>{"b"});
    for (int64_t t = 0; t < d.train.size(); ++t) {
      const float* x = d.train.features(t);
      for (int k = 0; k < 4; ++k) {
        CHECK(x[0 * 4 + k] == static_cast<float>(t + k));
        CHECK(x[1 * 4 + k] == static_cast<float>(100 + 2 * (t + k)));
      }
      const float* y = d.train.target(t);
      CHECK(y[0] == static_cast<float>(100 + 2 * (t + 4)));
      CHECK(y[1] == static_cast<float>(100 + 2 * (t + 5)));
    }
  }
  SECTION("defaults: every numeric column, every feature is a target, window 24, horizon 1") {
    const std::string longer = dir.write("l.csv", series_linear_csv(40));
    auto d = series_load("series:" + longer + ":norm=none:val=0");
    REQUIRE(d.series.has_value());
    CHECK(d.series->channels == std::vector<std::string>{"a", "b"});
    CHECK(d.series->targets == std::vector<std::string>{"a", "b"});
    CHECK(d.train.size() == 40 - 24);
    CHECK(d.train.dim() == 48);
    const float* y = d.train.target(3);
    CHECK(y[0] == 27.0f);   // a at t + 24
    CHECK(y[1] == 154.0f);  // b at t + 24
  }
  SECTION("a target that is not a feature is read along") {
    auto d = series_load("series:" + path + ":columns=a:target=b:window=2:val=0:norm=none");
    CHECK(d.train.dim() == 2);
    CHECK(d.train.features(5)[1] == 6.0f);
    CHECK(d.train.target(5)[0] == 114.0f);  // b at 5 + 2
  }
}

TEST_CASE("series agents hold contiguous, disjoint time ranges covering the file", "[unit][series]") {
  TempDir dir;
  const std::string path = dir.write("p.csv", series_linear_csv(100));
  auto spec = parse_data_spec("series:" + path + ":columns=a:window=1:horizon=1:val=0:norm=none");
  REQUIRE(spec.is_ok());
  auto table = read_series(*spec);
  REQUIRE(table.is_ok());
  CHECK(table->rows() == 100);
  int64_t next = 0;
  for (int i = 0; i < 3; ++i) {
    spec->partition.index = i;
    spec->partition.count = 3;
    auto d = slice_series(*table, *spec);
    REQUIRE(d.is_ok());
    const int64_t begin = d->series->first_row;
    const int64_t rows = d->train.size() + 1;  // windows + W + H - 1
    CHECK(begin == next);
    CHECK(begin == 100 * i / 3);
    CHECK(begin + rows == 100 * (i + 1) / 3);
    // Windows stay inside the range: the first input is its first row, the
    // last target its last row.
    CHECK(d->train.features(0)[0] == static_cast<float>(begin));
    CHECK(d->train.target(d->train.size() - 1)[0] == static_cast<float>(begin + rows - 1));
    next = begin + rows;
  }
  CHECK(next == 100);
  // load_local_data reads and slices the same way.
  spec->partition.index = 1;
  auto one = load_local_data(*spec);
  REQUIRE(one.is_ok());
  CHECK(one->series->first_row == 33);
  CHECK(one->train.size() == 32);
}

TEST_CASE("series validation is the last windows, and normalisation is fitted on training rows", "[unit][series]") {
  TempDir dir;
  const std::string path = dir.write("v.csv", series_wave_csv(30));
  auto raw = series_load("series:" + path + ":window=2:horizon=1:val=0.2:norm=none");
  // 28 windows, round(0.2 * 28) = 6 held out, in time order.
  REQUIRE(raw.train.size() == 22);
  REQUIRE(raw.validation.size() == 6);
  for (int64_t i = 0; i < 22; ++i)
    CHECK(raw.train.features(i)[0] == static_cast<float>(series_wave(static_cast<int>(i))));
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(raw.validation.features(i)[0] == static_cast<float>(series_wave(22 + static_cast<int>(i))));
    CHECK(raw.validation.target(i)[0] == static_cast<float>(series_wave(24 + static_cast<int>(i))));
  }

  auto norm = series_load("series:" + path + ":window=2:horizon=1:val=0.2");
  REQUIRE(norm.normalizer.has_value());
  const Normalizer& nz = *norm.normalizer;
  REQUIRE(nz.channels() == 2);  // the feature channel, then the target
  // Training windows read and predict rows 0 .. 21 + 2 + 1 - 1 = 23.
  std::vector<double> fit_rows;
  for (int t = 0; t < 24; ++t) fit_rows.push_back(series_wave(t));
  const double mean = std::accumulate(fit_rows.begin(), fit_rows.end(), 0.0) / 24.0;
  CHECK(nz.mean[0] == Approx(mean).epsilon(1e-12));
  CHECK(nz.std[0] == Approx(series_pstdev(fit_rows)).epsilon(1e-12));
  CHECK(nz.mean[1] == nz.mean[0]);
  CHECK(nz.std[1] == nz.std[0]);
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(norm.validation.features(i)[1] == Approx(nz.apply(0, series_wave(23 + static_cast<int>(i)))).margin(1e-6));
    CHECK(nz.invert(1, norm.validation.target(i)[0]) == Approx(series_wave(24 + static_cast<int>(i))).margin(1e-5));
  }
  auto back = Normalizer::parse(nz.to_string());
  REQUIRE(back.is_ok());
  CHECK(back->mean == nz.mean);
  CHECK(back->std == nz.std);
}

TEST_CASE("series sensor faults alter what they should", "[unit][series]") {
  TempDir dir;
  const int n = 3000;
  const std::string path = dir.write("f.csv", series_wave_csv(n));
  std::vector<double> clean;
  for (int t = 0; t < n; ++t) clean.push_back(series_wave(t));
  const double sd = series_pstdev(clean);
  // W = 1, H = 1, no validation, raw values: window t's input is row t.
  const std::string base = "series:" + path + ":window=1:horizon=1:val=0:norm=none:seed=5";
  // Row t of the (faulty) series: window t's input, or the last window's target.
  auto reading = [](const LocalData& d, int t) -> double {
    return t < d.train.size() ? d.train.features(t)[0] : d.train.target(t - 1)[0];
  };

  SECTION("no fault: nothing flagged") {
    auto d = series_load(base);
    CHECK(std::accumulate(d.series->faulty_rows.begin(), d.series->faulty_rows.end(), 0) == 0);
    CHECK(d.series->train_faulty.size() == static_cast<size_t>(d.train.size()));
  }
  SECTION("stuck: constant from the row one third in") {
    auto d = series_load(base + ":fault=stuck");
    const int onset = n / 3;
    for (int t = 0; t <= onset; ++t) REQUIRE(reading(d, t) == static_cast<float>(clean[static_cast<size_t>(t)]));
    for (int t = onset + 1; t < n; ++t) REQUIRE(reading(d, t) == static_cast<float>(clean[onset]));
    for (int t = 0; t < n; ++t) REQUIRE(d.series->faulty_rows[static_cast<size_t>(t)] == (t > onset ? 1 : 0));
    CHECK(d.series->train_faulty[onset] == 0);
    CHECK(d.series->train_faulty[onset + 1] == 1);
  }
  SECTION("spikes: about 2 % of readings, +/- 5 std, deterministic in the seed") {
    auto d = series_load(base + ":fault=spikes");
    int spikes = 0, up = 0;
    for (int t = 0; t < n; ++t) {
      const double delta = reading(d, t) - clean[static_cast<size_t>(t)];
      const bool flagged = d.series->faulty_rows[static_cast<size_t>(t)] != 0;
      if (flagged) {
        ++spikes;
        up += delta > 0;
        CHECK(std::abs(delta) == Approx(5 * sd).margin(1e-4));
      } else {
        CHECK(std::abs(delta) < 1e-5);
      }
    }
    CHECK(spikes >= 40);  // 2 % of 3000 = 60
    CHECK(spikes <= 80);
    CHECK(up > 0);
    CHECK(up < spikes);
    auto again = series_load(base + ":fault=spikes");
    CHECK(again.series->faulty_rows == d.series->faulty_rows);
    auto other = series_load("series:" + path + ":window=1:horizon=1:val=0:norm=none:seed=6:fault=spikes");
    CHECK(other.series->faulty_rows != d.series->faulty_rows);
  }
  SECTION("drift: a linear offset reaching +3 std at the end") {
    auto d = series_load(base + ":fault=drift");
    const int onset = n / 3;
    CHECK(reading(d, onset) == static_cast<float>(clean[onset]));
    CHECK(reading(d, n - 1) - clean[n - 1] == Approx(3 * sd).margin(1e-4));
    const int mid = (onset + n - 1) / 2;
    CHECK(reading(d, mid) - clean[static_cast<size_t>(mid)] ==
          Approx(3 * sd * (mid - onset) / (n - 1 - onset)).margin(1e-4));
    CHECK(d.series->faulty_rows[static_cast<size_t>(onset)] == 0);
    CHECK(d.series->faulty_rows[static_cast<size_t>(n - 1)] == 1);
  }
  SECTION("faults hit each agent's own range") {
    auto d = series_load("series:" + path + ":1/2:window=1:horizon=1:val=0:norm=none:fault=stuck");
    const int begin = n / 2, onset = begin + (n - begin) / 3;
    CHECK(d.series->first_row == begin);
    CHECK(reading(d, 0) == static_cast<float>(clean[static_cast<size_t>(begin)]));
    CHECK(reading(d, n - begin - 1) == static_cast<float>(clean[static_cast<size_t>(onset)]));
  }
}

TEST_CASE("input windows with a faulty reading are flagged, for train and validation", "[unit][series]") {
  TempDir dir;
  const std::string path = dir.write("w.csv", series_wave_csv(90));
  auto d = series_load("series:" + path + ":window=5:horizon=2:val=0.25:fault=stuck");
  // 84 windows: 63 train, 21 validation; rows after 30 are stuck.
  REQUIRE(d.train.size() == 63);
  REQUIRE(d.series->train_faulty.size() == 63);
  REQUIRE(d.series->validation_faulty.size() == 21);
  for (int t = 0; t < 63; ++t) CHECK(d.series->train_faulty[static_cast<size_t>(t)] == (t + 4 > 30 ? 1 : 0));
  for (uint8_t f : d.series->validation_faulty) CHECK(f == 1);
}

TEST_CASE("real sensor series: Seattle and San Francisco hourly temperatures", "[unit][series]") {
  const std::string seattle = edgefed::test::vega_file("seattle-temps.csv");
  EDGEFED_SKIP_WITHOUT(seattle);
  auto spec = parse_data_spec("series:" + seattle + ":0/10:norm=none");
  REQUIRE(spec.is_ok());
  auto table = read_series(*spec);
  REQUIRE(table.is_ok());
  CHECK(table->rows() == 8759);
  CHECK(table->names == std::vector<std::string>{"temp"});  // the date column is skipped
  int64_t windows = 0;
  for (int i = 0; i < 10; ++i) {
    spec->partition.index = i;
    auto d = slice_series(*table, *spec);
    REQUIRE(d.is_ok());
    const int64_t rows = 8759 * (i + 1) / 10 - 8759 * i / 10;
    CHECK(d->train.size() + d->validation.size() == rows - 24);
    windows += d->train.size() + d->validation.size();
    if (i == 0) {
      // 2010/01/01 00:00,39.4 ... 23:00,39.9; 2010/01/02 00:00,39.6
      CHECK(d->train.features(0)[0] == 39.4f);
      CHECK(d->train.features(0)[23] == 39.9f);
      CHECK(d->train.target(0)[0] == 39.6f);
      CHECK(d->train.features(1)[23] == 39.6f);
    }
  }
  CHECK(windows == 8759 - 10 * 24);

  const std::string sf = edgefed::test::vega_file("sf-temps.csv");
  EDGEFED_SKIP_WITHOUT(sf);
  auto s = series_load("series:" + sf + ":3/4:window=48:horizon=6");
  REQUIRE(s.normalizer.has_value());
  CHECK(s.series->channels == std::vector<std::string>{"temp"});
  CHECK(s.train.dim() == 48);
  CHECK(s.train.target_dim() == 6);
  CHECK(s.normalizer->mean[0] > 40);  // degrees Fahrenheit
  CHECK(s.normalizer->mean[0] < 80);
  double sum = 0;
  for (int64_t i = 0; i < s.train.size(); ++i) sum += s.train.features(i)[0];
  CHECK(std::abs(sum / static_cast<double>(s.train.size())) < 0.5);  // standardised
}

TEST_CASE("seattle-weather as a daily multichannel series", "[unit][series]") {
  const std::string path = edgefed::test::vega_file("seattle-weather.csv");
  EDGEFED_SKIP_WITHOUT(path);
  auto d = series_load("series:" + path + ":columns=temp_max,temp_min:target=temp_max:window=7:val=0:norm=none");
  CHECK(d.train.size() == 1461 - 7);
  CHECK(d.train.dim() == 14);
  // Rows 93..99 (2012/04/03..09); target is row 100: temp_max 17.8.
  CHECK(d.train.target(93)[0] == 17.8f);
  CHECK(d.train.features(100)[0] == 17.8f);
  CHECK(d.train.features(100)[7] == 8.9f);
  auto all = series_load("series:" + path + ":window=3:val=0:norm=none");
  CHECK(all.series->channels == std::vector<std::string>{"precipitation", "temp_max", "temp_min", "wind"});
}

TEST_CASE("bad series give errors naming the field", "[unit][series]") {
  TempDir dir;
  const std::string path = dir.write("e.csv", series_linear_csv(30));
  using Row = std::tuple<std::string, std::string>;
  auto [options, expected] = GENERATE(table<std::string, std::string>({
      Row{":columns=a,nope", "missing value column 'nope' (header: date,a,b)"},
      Row{":columns=a,1", "columns= names column 'a' twice"},
      Row{":target=date", "target=date is not among the numeric columns (a,b)"},
      Row{":target=zzz", "target=zzz is not among the numeric columns"},
      Row{":columns=a:target=date", "e.csv:2: value field 0 '2010/01/01 0:00' is not a number"},
      Row{":columns=a:target=zzz", "missing value column 'zzz'"},
      Row{":target=a,1", "target= names column 'a' twice"},
      Row{":window=30", "agent 0/1 holds 30 of 30 rows; window=30 + horizon=1 needs at least 31"},
      Row{":7/8:window=4", "agent 7/8 holds 4 of 30 rows; window=4 + horizon=1 needs at least 5"},
      Row{":columns=9", "missing value column 9 (header has 3 columns)"},
  }));
  CAPTURE(options);
  auto spec = parse_data_spec("series:" + path + options);
  REQUIRE(spec.is_ok());
  auto d = load_local_data(*spec);
  REQUIRE_FALSE(d.is_ok());
  CHECK(d.status().code() == edgefed::Code::kInvalidArgument);
  CHECK_THAT(d.status().message(), Catch::Contains(expected));
}

TEST_CASE("series read errors", "[unit][series]") {
  TempDir dir;
  auto missing = parse_data_spec("series:" + dir.file("none.csv"));
  REQUIRE(missing.is_ok());
  auto m = load_local_data(*missing);
  REQUIRE_FALSE(m.is_ok());
  CHECK(m.status().code() == edgefed::Code::kIo);
  auto text = parse_data_spec("series:" + dir.write("t.csv", "name,kind\nx,y\n"));
  REQUIRE(text.is_ok());
  auto t = load_local_data(*text);
  REQUIRE_FALSE(t.is_ok());
  CHECK_THAT(t.status().message(), Catch::Contains("t.csv:2: no numeric columns"));
  auto bad_value = parse_data_spec("series:" + dir.write("b.csv", "v\n1\n2\nx\n"));
  REQUIRE(bad_value.is_ok());
  auto b = load_local_data(*bad_value);
  REQUIRE_FALSE(b.is_ok());
  CHECK_THAT(b.status().message(), Catch::Contains("b.csv:4: value field 0 'x' is not a number"));
  auto headless = parse_data_spec("series:" + dir.write("n.csv", "1,2\n3,4\n5,6\n") + ":window=1");
  REQUIRE(headless.is_ok());
  auto h = load_local_data(*headless);
  REQUIRE_FALSE(h.is_ok());
  CHECK_THAT(h.status().message(), Catch::Contains("n.csv: the first line must be a header"));
  std::vector<std::vector<double>> empty;
  CHECK(apply_series_fault(empty, "stuck", 1).empty());
}

TEST_CASE("series values beyond a float are refused, not turned into infinities", "[unit][series]") {
  TempDir dir;
  const std::string path = dir.write("h.csv", "v\n1e300\n-1e300\n1\n2\n");
  auto raw = parse_data_spec("series:" + path + ":window=1:val=0:norm=none");
  REQUIRE(raw.is_ok());
  auto r = load_local_data(*raw);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.status().message(), Catch::Contains("does not fit a float"));
  auto fit = parse_data_spec("series:" + path + ":window=1:val=0");
  REQUIRE(fit.is_ok());
  auto f = load_local_data(*fit);
  REQUIRE(f.is_ok());
  CHECK(std::isfinite(f->normalizer->std[0]));
}
