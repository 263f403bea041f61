// Fleet time's default dilation: the paced training demand of the fleet,
// sum(1/slowdown) cores at dilation 1, held to half the cores.
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
}
