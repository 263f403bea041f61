#include "server/aggregation/fedavg_aggregator.hpp"

#include <catch2/catch.hpp>

#include "server/aggregation/server_optimizer.hpp"

using namespace edgefed::server;

TEST_CASE("fedavg normalises by total weight, not by update count", "[unit][aggregation]") {
  // The NVIDIA FLARE FedBuff bug averaged versions equally; here an update
  // trained on 900 samples must outweigh one trained on 100 nine to one.
  FedAvgAggregator agg(1);
  const std::vector<float> a{10}, b{0};
  agg.add({a, 100, 0.0});
  agg.add({b, 900, 0.0});
  auto r = agg.finish(1);
  REQUIRE(r.is_ok());
  CHECK(r->delta == std::vector<float>{1.0f});  // not 5 (the unweighted mean)
  CHECK(r->count == 2);
  CHECK(r->total_weight == 1000);
}

TEST_CASE("fedavg with nothing added refuses to finish", "[unit][aggregation]") {
  FedAvgAggregator agg(4);
  CHECK(agg.finish(1).status().code() == edgefed::Code::kUnprocessable);
  CHECK(agg.memory_bytes() == 4 * sizeof(double));
  CHECK(make_aggregator(AggregatorKind::kFedAvg, 4).is_ok());
  CHECK(make_aggregator(AggregatorKind::kMedian, 4).is_ok());
  CHECK_FALSE(edgefed::parse_enum<AggregatorKind>("mean"));  // --aggregator refuses it
  CHECK(edgefed::parse_enum<AggregatorKind>("trimmed-mean") == AggregatorKind::kTrimmedMean);
}

TEST_CASE("sgd server optimizer applies lr x merged delta", "[unit][aggregation]") {
  std::vector<float> params{1.0f, -1.0f};
  const std::vector<float> delta{2.0f, 4.0f};
  auto opt = make_server_optimizer(ServerOptimizerKind::kSgd, 0.25);
  REQUIRE(opt.is_ok());
  (*opt)->apply(params, delta);
  CHECK(params == std::vector<float>{1.5f, 0.0f});
  CHECK(!make_server_optimizer(ServerOptimizerKind::kSgd, 0).is_ok());
  CHECK_FALSE(edgefed::parse_enum<ServerOptimizerKind>("adam"));
}
