#include "edgefed/ml/normalizer.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace edgefed::ml;

TEST_CASE("a normalizer standardises, inverts and travels as text", "[unit][normalizer]") {
  const std::vector<std::vector<double>> channels = {{1, 2, 3, 4}, {5, 5, 5, 5}, {-1e6, 1e6}};
  const Normalizer n = Normalizer::fit(channels);
  REQUIRE(n.channels() == 3);
  CHECK(n.mean[0] == 2.5);
  CHECK(n.std[0] == Approx(std::sqrt(1.25)));
  CHECK(n.mean[1] == 5);
  CHECK(n.std[1] == 1);  // constant: values map to 0, never divide by 0
  CHECK(n.apply(1, 5) == 0);
  CHECK(n.std[2] == Approx(1e6));
  CHECK(n.apply(0, 2.5) == 0);
  CHECK(n.apply(0, 2.5 + std::sqrt(1.25)) == Approx(1));
  for (double v : {-7.25, 0.0, 3.0, 1e3}) CHECK(n.invert(0, n.apply(0, v)) == Approx(v).margin(1e-9));

  SECTION("from matrix columns, as from vectors") {
    FeatureMatrix m(4, 2);
    m << 1, 5, 2, 5, 3, 5, 4, 5;
    const Normalizer fm = Normalizer::fit(m);
    CHECK(fm.mean == std::vector<double>{2.5, 5});
    CHECK(fm.std[0] == n.std[0]);
    CHECK(fm.std[1] == 1);
  }
  SECTION("to_string and parse round-trip exactly") {
    Normalizer odd;
    odd.mean = {0.1, -1.0 / 3.0, 12345.678901234567};
    odd.std = {1e-300, 2.5, 7.0 / 3.0};
    const std::string text = odd.to_string();
    CHECK(text.find("{\"mean\":[0.1,") == 0);
    auto back = Normalizer::parse(text);
    REQUIRE(back.is_ok());
    CHECK(back->mean == odd.mean);
    CHECK(back->std == odd.std);
    CHECK(Normalizer::parse(n.to_string())->std == n.std);
    CHECK(Normalizer{}.to_string() == "{\"mean\":[],\"std\":[]}");
    CHECK(Normalizer::parse(" { \"std\": [2], \"mean\": [1] } ")->mean == std::vector<double>{1});
  }
}

TEST_CASE("bad normalizer text is refused with a reason", "[unit][normalizer]") {
  using Row = std::tuple<std::string, std::string>;
  auto [text, expected] = GENERATE(table<std::string, std::string>({
      Row{"", "normalizer: "},
      Row{"[1,2]", "not a JSON object"},
      Row{"{\"mean\":[1]}", "missing array \"std\""},
      Row{"{\"mean\":1,\"std\":[1]}", "missing array \"mean\""},
      Row{"{\"mean\":[1,2],\"std\":[1]}", "\"mean\" has 2 channels, \"std\" has 1"},
      Row{"{\"mean\":[\"a\"],\"std\":[1]}", "\"mean\" holds a non-number"},
      Row{"{\"mean\":[1],\"std\":[0]}", "\"std\" holds a value <= 0"},
      Row{"{\"mean\":[1],\"std\":[-2]}", "\"std\" holds a value <= 0"},
      Row{"{\"mean\":[1e999],\"std\":[1]}", "normalizer: "},
      Row{"{\"mean\":[1],\"std\":[1]", "normalizer: "},
  }));
  CAPTURE(text);
  auto r = Normalizer::parse(text);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == edgefed::Code::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains(expected));
}

TEST_CASE("pooling agents' normalizers by sample count gives the union's statistics", "[unit][normalizer]") {
  // Three "agents" hold parts of two channels of different sizes and levels.
  const std::vector<std::vector<double>> all = {{1, 2, 3, 4, 10, 11, 12, 50, 51, 52, 53, 54},
                                                {5, 5, 5, 5, -1, -2, -3, 0, 0, 1, 1, 1}};
  const size_t cuts[] = {0, 4, 7, 12};
  NormalizerPool pool;
  CHECK(pool.empty());
  for (int a = 0; a < 3; ++a) {
    std::vector<std::vector<double>> part(2);
    for (size_t c = 0; c < 2; ++c) part[c].assign(all[c].begin() + cuts[a], all[c].begin() + cuts[a + 1]);
    REQUIRE(pool.add(Normalizer::fit(part), static_cast<double>(cuts[a + 1] - cuts[a])).is_ok());
  }
  CHECK_FALSE(pool.empty());
  CHECK(pool.channels() == 2);
  const Normalizer pooled = pool.result();
  const Normalizer whole = Normalizer::fit(all);
  for (size_t c = 0; c < 2; ++c) {
    CHECK(pooled.mean[c] == Approx(whole.mean[c]).epsilon(1e-12));
    // Agent 0's channel 1 is constant (fit gives std 1): pooling uses what
    // travelled, so allow for that one agent's share.
    CHECK(pooled.std[c] == Approx(whole.std[c]).epsilon(c == 0 ? 1e-12 : 0.15));
  }

  SECTION("another channel count or a bad weight is refused and changes nothing") {
    const std::vector<std::vector<double>> one = {{1, 2}};
    auto st = pool.add(Normalizer::fit(one), 2);
    CHECK(st.code() == edgefed::Code::kInvalidArgument);
    CHECK(st.message().find("1 channels, the pool 2") != std::string::npos);
    CHECK_FALSE(pool.add(whole, 0).is_ok());
    CHECK_FALSE(pool.add(whole, std::nan("")).is_ok());
    CHECK(pool.result().mean == pooled.mean);
    pool.reset();
    CHECK(pool.empty());
  }
}
