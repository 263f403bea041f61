// The device mix (--device-mix) and fleet time's default dilation: the
// fleet's paced training demand, sum(1/slowdown) cores at dilation 1, held
// to half the cores.
#include <catch2/catch.hpp>

#include "device_mix.hpp"

using edgefed::sim::DeviceClass;
using edgefed::sim::fleet_dilation;

TEST_CASE("fleet dilation holds the fleet's paced training to half the cores, at least 1", "[unit]") {
  std::vector<DeviceClass> fleet;
  for (int i = 0; i < 10; ++i) fleet.push_back({"i7", 0.1, 1.0});
  for (int i = 0; i < 30; ++i) fleet.push_back({"celeron", 0.3, 4.0});
  // 10 x 1 + 30 x 0.25 = 17.5 cores of demand at dilation 1.
  CHECK(fleet_dilation(fleet, 2) == Approx(17.5));
  CHECK(fleet_dilation(fleet, 16) == Approx(17.5 / 8));
  CHECK(fleet_dilation({{"i7", 1, 1.0}}, 16) == 1.0);  // never faster than real time
  CHECK(fleet_dilation({}, 0) == 1.0);
  // Sync rounds start every device at once: the fastest device's round has
  // to fit while all 40 share the cores, 40 x 1 cores of demand.
  CHECK(fleet_dilation(fleet, 2, /*all_at_once=*/true) == Approx(40.0));
  CHECK(fleet_dilation(fleet, 2, true) > fleet_dilation(fleet, 2));
}

TEST_CASE("device mix: classes with an optional link, shares normalised, bad fields refused", "[unit]") {
  auto mix = edgefed::sim::parse_device_mix("nuc:0.6:1,lte-gw:0.2:3:60:5:20,pi:0.2:2:15");
  REQUIRE(mix.is_ok());
  REQUIRE(mix->size() == 3);
  CHECK((*mix)[0].share == Approx(0.6));
  CHECK((*mix)[0].latency_ms == 0);
  CHECK((*mix)[0].uplink_mbit == 0);  // loopback: unlimited
  CHECK((*mix)[1].slowdown == 3);
  CHECK((*mix)[1].latency_ms == 60);
  CHECK((*mix)[1].uplink_mbit == 5);
  CHECK((*mix)[1].downlink_mbit == 20);
  CHECK((*mix)[2].latency_ms == 15);
  CHECK((*mix)[2].downlink_mbit == 0);
  for (const char* bad : {"", "nuc", "nuc:1", "nuc:0:1", "nuc:1:1000", "nuc:1:1:-5", "nuc:1:1:10:0",
                          "nuc:1:1:10:5:x", "nuc:1:1:1:1:1:1", "two words:1:1"}) {
    INFO(bad);
    auto r = edgefed::sim::parse_device_mix(bad);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("--device-mix") != std::string::npos);
  }
}
