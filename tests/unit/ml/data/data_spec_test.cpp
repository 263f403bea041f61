#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/local_data.hpp"

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
      Row{"csv:/x.csv:label=a:target=b", "label= and target= are exclusive"},
      Row{"csv:/x.csv:target=b:classes=3", "classes= needs class labels"},
      Row{"csv:/x.csv:target=b:corrupt=labels", "corrupt=labels needs class labels"},
      Row{"csv:/x.csv:target=b:dirichlet:0.5", "dirichlet:0.5 partitions by class label"},
      Row{"csv:/x.csv:target=", "target= needs a comma-separated list"},
      Row{"csv:/x.csv:columns=a,,b", "columns=a,,b needs a comma-separated list"},
      Row{"csv:/x.csv:columns=a,", "columns=a, needs a comma-separated list"},
      Row{"csv:/x.csv:columns=a,b,a", "columns=a,b,a names column 'a' twice"},
      Row{"csv:/x.csv:window=3", "unknown option 'window'"},
      Row{"idx:/d:columns=a", "unknown option 'columns'"},
      Row{"stream:-:target=a", "target= and norm= need window="},
      Row{"series", "'series:' needs a path"},
      Row{"series:/s.csv:window=0", "window=0 must be a positive integer"},
      Row{"series:/s.csv:window=-2", "window=-2 must be a positive integer"},
      Row{"series:/s.csv:window=x", "window=x must be a positive integer"},
      Row{"series:/s.csv:window=1000001", "window=1000001 must be a positive integer up to 1000000"},
      Row{"series:/s.csv:horizon=0", "horizon=0 must be a positive integer"},
      Row{"series:/s.csv:fault=broken", "fault=broken must be stuck, spikes or drift"},
      Row{"series:/s.csv:fault=", "fault= must be stuck, spikes or drift"},
      Row{"series:/s.csv:norm=zscore", "norm=zscore must be fit, none or model"},
      Row{"series:/s.csv:val=1", "val=1 must be a fraction"},
      Row{"series:/s.csv:label=a", "unknown option 'label'"},
      Row{"series:/s.csv:corrupt=noise", "unknown option 'corrupt'"},
      Row{"series:/s.csv:iid", "unexpected field 'iid'"},
      Row{"series:/s.csv:dirichlet:0.5", "unexpected field 'dirichlet'"},
      Row{"series:/s.csv:4/4", "bad partition '4/4'"},
  }));
  CAPTURE(text);
  auto s = parse_data_spec(text);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.status().code() == edgefed::Code::kInvalidArgument);
  CHECK_THAT(s.status().message(), Catch::StartsWith("--data: ") && Catch::Contains(expected));
}

TEST_CASE("csv column and target options and series specs parse and round-trip", "[unit][data_spec]") {
  auto round_trip = [](const DataSpec& s) {
    auto again = parse_data_spec(to_string(s));
    REQUIRE(again.is_ok());
    CHECK(to_string(*again) == to_string(s));
  };
  SECTION("csv classification with columns") {
    auto s = parse_data_spec("csv:/d/w.csv:label=weather:columns=precipitation,temp_max,temp_min,wind");
    REQUIRE(s.is_ok());
    CHECK(s->label == "weather");
    CHECK(s->columns == std::vector<std::string>{"precipitation", "temp_max", "temp_min", "wind"});
    CHECK(s->targets.empty());
    CHECK(to_string(*s) ==
          "csv:/d/w.csv:0/1:iid:seed=0:val=0.1:label=weather:columns=precipitation,temp_max,temp_min,wind");
    round_trip(*s);
  }
  SECTION("csv regression") {
    auto s = parse_data_spec("csv:/d/w.csv:target=temp_max,temp_min:columns=1,4:2/3:corrupt=noise");
    REQUIRE(s.is_ok());
    CHECK(s->targets == std::vector<std::string>{"temp_max", "temp_min"});
    CHECK(s->columns == std::vector<std::string>{"1", "4"});
    CHECK(to_string(*s) == "csv:/d/w.csv:2/3:iid:seed=0:val=0.1:target=temp_max,temp_min:columns=1,4:corrupt=noise");
    round_trip(*s);
  }
  SECTION("series defaults") {
    auto s = parse_data_spec("series:/d/t.csv");
    REQUIRE(s.is_ok());
    CHECK(s->kind == DataKind::kSeries);
    CHECK(s->window == 24);
    CHECK(s->horizon == 1);
    CHECK(s->validation_fraction == 0.1);
    CHECK(s->normalize);
    CHECK(s->fault.empty());
    CHECK(s->columns.empty());
    CHECK(s->targets.empty());
    CHECK(to_string(*s) == "series:/d/t.csv:0/1:seed=0:val=0.1:window=24:horizon=1:norm=fit");
    round_trip(*s);
  }
  SECTION("series with every option") {
    auto s = parse_data_spec(
        "series:/d/t.csv:columns=temp,hum:target=temp:window=48:horizon=6:3/10:val=0.2:seed=9:fault=spikes:norm=none");
    REQUIRE(s.is_ok());
    CHECK(s->columns == std::vector<std::string>{"temp", "hum"});
    CHECK(s->targets == std::vector<std::string>{"temp"});
    CHECK(s->window == 48);
    CHECK(s->horizon == 6);
    CHECK(s->partition.index == 3);
    CHECK(s->partition.count == 10);
    CHECK(s->partition.seed == 9);
    CHECK(s->fault == "spikes");
    CHECK_FALSE(s->normalize);
    CHECK(to_string(*s) ==
          "series:/d/t.csv:3/10:seed=9:val=0.2:window=48:horizon=6:columns=temp,hum:target=temp:fault=spikes:"
          "norm=none");
    round_trip(*s);
  }
  SECTION("series held out with the model's scale") {
    auto s = parse_data_spec("series:/d/t.csv:norm=model");
    REQUIRE(s.is_ok());
    CHECK(s->normalize);
    CHECK(s->scale_by_model);
    CHECK(to_string(*s) == "series:/d/t.csv:0/1:seed=0:val=0.1:window=24:horizon=1:norm=model");
    round_trip(*s);
    // Training data cannot be scaled by a model that does not exist yet.
    auto local = load_local_data(*s);
    CHECK(local.status().code() == edgefed::Code::kInvalidArgument);
    CHECK_THAT(local.status().message(), Catch::Contains("norm=model is for held-out sets"));
  }
}
