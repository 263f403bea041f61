// The sim's fault plan: fleet outages, server restarts and random per-agent
// outages, and (fleet time) the scale that turns the fleet seconds they are
// given in into the wall seconds the sim runs on.
#include <catch2/catch.hpp>

#include "outage_plan.hpp"

using edgefed::sim::OutagePlan;

TEST_CASE("outage plan: fleet outages and restarts at the given seconds, scaled in fleet time", "[unit]") {
  OutagePlan::Options o;
  o.agents = 3;
  o.horizon_s = 1000;
  o.fleet_outages = "2:0.5";
  o.server_restarts = "4,1";
  auto plain = OutagePlan::create(o);
  REQUIRE(plain.is_ok());
  CHECK(plain->link_down(0, 2.2));
  CHECK(!plain->link_down(0, 2.6));
  REQUIRE(plain->server_restarts().size() == 2);
  CHECK(plain->server_restarts()[0] == Approx(1.0));  // sorted
  CHECK(plain->server_restarts()[1] == Approx(4.0));

  o.time_scale = 50;  // dilation 50: fleet second 2 is wall second 100
  auto scaled = OutagePlan::create(o);
  REQUIRE(scaled.is_ok());
  CHECK(!scaled->link_down(1, 2.2));
  CHECK(scaled->link_down(1, 101.0));
  CHECK(scaled->link_down(2, 124.0));
  CHECK(!scaled->link_down(2, 126.0));
  CHECK(scaled->server_restarts()[0] == Approx(50.0));
  CHECK(scaled->server_restarts()[1] == Approx(200.0));
}

TEST_CASE("outage plan: random outages keep their share of the time when scaled", "[unit]") {
  OutagePlan::Options o;
  o.agents = 50;
  o.mean_interval_s = 2;
  o.mean_duration_s = 0.2;
  o.seed = 7;
  auto down_share = [](const OutagePlan& p, double horizon, double step) {
    int64_t down = 0, all = 0;
    for (int a = 0; a < 50; ++a)
      for (double t = 0; t < horizon; t += step, ++all) down += p.link_down(a, t) ? 1 : 0;
    return static_cast<double>(down) / static_cast<double>(all);
  };
  o.horizon_s = 100;
  auto plain = OutagePlan::create(o);
  o.time_scale = 10;
  o.horizon_s = 1000;  // the same run in wall seconds
  auto scaled = OutagePlan::create(o);
  REQUIRE(plain.is_ok());
  REQUIRE(scaled.is_ok());
  // Same seed, same draws: the same outages, ten times longer and apart.
  CHECK(scaled->random_outages() == plain->random_outages());
  CHECK(plain->random_outages() > 1000);
  const double a = down_share(*plain, 100, 0.05), b = down_share(*scaled, 1000, 0.5);
  CHECK(a == Approx(b).margin(0.005));  // the same outages, sampled on the same grid
  CHECK(a > 0.05);  // about 0.2 / 2.2 of the time
  CHECK(a < 0.15);
  OutagePlan::Options bad;
  bad.agents = 1;
  bad.fleet_outages = "x";
  CHECK_FALSE(OutagePlan::create(bad).is_ok());
}
