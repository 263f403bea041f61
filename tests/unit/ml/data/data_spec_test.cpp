#include "edgefed/ml/data_spec.hpp"

#include <catch2/catch.hpp>

using namespace edgefed::ml;

TEST_CASE("data specs parse", "[unit][data_spec]") {
  SECTION("idx with partition, dirichlet and seed") {
    auto s = parse_data_spec("idx:/usr/share/datasets/fashion-mnist:3/100:dirichlet:0.5:seed=7");
    REQUIRE(s.is_ok());
    CHECK(s->kind == DataKind::kIdx);
    CHECK(s->path == "/usr/share/datasets/fashion-mnist");
    CHECK(s->partition.index == 3);
    CHECK(s->partition.count == 100);
    CHECK(s->partition.scheme == PartitionScheme::kDirichlet);
    CHECK(s->partition.alpha == 0.5);
    CHECK(s->partition.seed == 7);
    CHECK(s->validation_fraction == 0.1);
    CHECK(to_string(*s) == "idx:/usr/share/datasets/fashion-mnist:3/100:dirichlet:0.5:seed=7:val=0.1:split=train");
    auto again = parse_data_spec(to_string(*s));
    REQUIRE(again.is_ok());
    CHECK(to_string(*again) == to_string(*s));
  }
  SECTION("idx defaults: the whole training set") {
    auto s = parse_data_spec("idx:/d");
    REQUIRE(s.is_ok());
    CHECK(s->partition.count == 1);
    CHECK(s->partition.scheme == PartitionScheme::kIid);
    CHECK(s->split == IdxSplit::kTrain);
  }
  SECTION("idx shards, test split, no validation") {
    auto s = parse_data_spec("idx:/d:shards:3:0/10:split=test:val=0");
    REQUIRE(s.is_ok());
    CHECK(s->partition.scheme == PartitionScheme::kShards);
    CHECK(s->partition.shards == 3);
    CHECK(s->split == IdxSplit::kTest);
    CHECK(s->validation_fraction == 0);
  }
  SECTION("csv with a label column") {
    auto s = parse_data_spec("csv:/data/sensors.csv:label=class:1/4:iid");
    REQUIRE(s.is_ok());
    CHECK(s->kind == DataKind::kCsv);
    CHECK(s->label == "class");
    CHECK(s->partition.count == 4);
  }
  SECTION("stream from stdin") {
    auto s = parse_data_spec("stream:-:features=4:batch=16:buffer=64:classes=3");
    REQUIRE(s.is_ok());
    CHECK(s->kind == DataKind::kStream);
    CHECK(s->path == "-");
    CHECK(s->features == 4);
    CHECK(s->batch == 16);
    CHECK(s->buffer == 64);
    CHECK(s->num_classes == 3);
  }
}

TEST_CASE("bad --data specs say what is wrong", "[unit][data_spec]") {
  using Row = std::tuple<std::string, std::string>;
  auto [text, expected] = GENERATE(table<std::string, std::string>({
      Row{"", "empty spec"},
      Row{"hdf5:/x", "unknown source 'hdf5'"},
      Row{"idx", "'idx:' needs a path"},
      Row{"idx:", "'idx:' needs a path"},
      Row{"idx:/d:3/2", "bad partition '3/2'"},
      Row{"idx:/d:-1/2", "bad partition '-1/2'"},
      Row{"idx:/d:a/b", "bad partition 'a/b'"},
      Row{"idx:/d:dirichlet", "dirichlet needs a positive alpha"},
      Row{"idx:/d:dirichlet:0", "dirichlet needs a positive alpha"},
      Row{"idx:/d:dirichlet:x", "dirichlet needs a positive alpha"},
      Row{"idx:/d:shards:0", "shards needs a positive count"},
      Row{"idx:/d:seed=-3", "seed=-3 must be a non-negative integer"},
      Row{"idx:/d:val=1", "val=1 must be a fraction"},
      Row{"idx:/d:split=dev", "split=dev must be train or test"},
      Row{"idx:/d:label=3", "unknown option 'label'"},
      Row{"idx:/d:bogus", "unexpected field 'bogus'"},
      Row{"stream:-:batch=0", "batch=0 must be a positive integer"},
      Row{"stream:-:1/2", "unexpected field '1/2'"},
      Row{"csv:/x.csv:label=", "label= needs a column"},
  }));
  CAPTURE(text);
  auto s = parse_data_spec(text);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.status().code() == edgefed::Code::kInvalidArgument);
  CHECK_THAT(s.status().message(), Catch::StartsWith("--data: ") && Catch::Contains(expected));
}
