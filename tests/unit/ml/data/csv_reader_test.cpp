#include "edgefed/ml/csv_reader.hpp"

#include <catch2/catch.hpp>

#include "temp_dir.hpp"

using namespace edgefed::ml;
using edgefed::test::TempDir;

TEST_CASE("CSV files give features and labels", "[unit][csv]") {
  TempDir dir;
  SECTION("label last, no header, comments and blank lines skipped") {
    auto r = read_csv(dir.write("a.csv", "# sensor log\n0.5,1e-3,2\n\n-1,+4,0\r\n"));
    REQUIRE(r.is_ok());
    CHECK(r->size() == 2);
    CHECK(r->dim() == 2);
    CHECK(r->num_classes == 3);
    CHECK(r->features(0, 1) == Approx(1e-3));
    CHECK(r->features(1, 1) == 4.0f);
    CHECK(r->labels == std::vector<int32_t>{2, 0});
  }
  SECTION("label by header name, in the middle") {
    CsvOptions o;
    o.label = "class";
    auto r = read_csv(dir.write("b.csv", "temp, class, humidity\n21.5, 1, 0.4\n22.0, 0, 0.5\n"), o);
    REQUIRE(r.is_ok());
    CHECK(r->labels == std::vector<int32_t>{1, 0});
    CHECK(r->features(1, 0) == 22.0f);
    CHECK(r->features(1, 1) == 0.5f);
  }
  SECTION("label by index and a fixed class count") {
    CsvOptions o;
    o.label = "0";
    o.num_classes = 5;
    auto r = read_csv(dir.write("c.csv", "1,7,8\n"), o);
    REQUIRE(r.is_ok());
    CHECK(r->num_classes == 5);
    CHECK(r->labels == std::vector<int32_t>{1});
  }
}

TEST_CASE("bad CSV files give errors with the line number", "[unit][csv]") {
  TempDir dir;
  using Row = std::tuple<std::string, std::string, std::string, std::string>;  // name, label, content, message
  auto [name, label, content, expected] = GENERATE_REF(table<std::string, std::string, std::string, std::string>({
      Row{"non-numeric field", "last", "1,2,0\n3,abc,1\n", "x.csv:2: feature field 1 'abc' is not a number"},
      Row{"NaN feature", "last", "1,2,0\n# c\nnan,2,1\n", "x.csv:3: feature field 0 'nan' is not finite"},
      Row{"infinite feature", "last", "inf,2,1\n", "x.csv:1: feature field 0 'inf' is not finite"},
      Row{"missing label column", "5", "1,2,0\n", "x.csv:1: missing label column 5 (record has 3 fields)"},
      Row{"label name not in header", "class", "a,b,c\n1,2,0\n", "missing label column 'class'"},
      Row{"label name without header", "class", "1,2,0\n", "no header line"},
      Row{"negative label", "last", "1,2,-1\n", "x.csv:1: label field 2 '-1' is not a class"},
      Row{"fractional label", "last", "1,2,0.5\n", "label field 2 '0.5' is not a class"},
      Row{"ragged rows", "last", "1,2,0\n1,0\n", "x.csv:2: record has 1 features, earlier records have 2"},
      Row{"empty field", "last", "1,,0\n", "x.csv:1: feature field 1 '' is not a number"},
      Row{"only a label", "last", "1\n", "need at least one feature"},
      Row{"no records", "last", "# nothing\n", "no records"},
  }));
  CAPTURE(name);
  CsvOptions o;
  o.label = label;
  auto r = read_csv(dir.write("x.csv", content), o);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == edgefed::Code::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains(expected));
}

TEST_CASE("an unreadable CSV path is an I/O error", "[unit][csv]") {
  auto r = read_csv("/nonexistent/edgefed.csv");
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == edgefed::Code::kIo);
}
