#include "server/monitor/robust_stats.hpp"

#include <catch2/catch.hpp>

using namespace edgefed::server::monitor;

TEST_CASE("median and MAD are robust to one wild value", "[unit]") {
  CHECK(median({}) == 0);
  CHECK(median({3, 1, 2}) == 2);
  CHECK(median({4, 1, 3, 2}) == Approx(2.5));
  const std::vector<double> v{1.0, 1.1, 0.9, 1.05, 0.95, 1000.0};
  const RobustScale s = robust_scale(v, 1e-9);
  CHECK(s.center == Approx(1.025));
  CHECK(s.scale < 0.2);  // the 1000 does not blow up the scale
}

TEST_CASE("the scale never falls below its floor", "[unit]") {
  const std::vector<double> same(10, 2.0);
  CHECK(robust_scale(same, 0.05).scale == Approx(0.05));
}

TEST_CASE("a window keeps only the newest values", "[unit]") {
  RobustWindow w(3);
  for (double x : {100.0, 1.0, 2.0, 3.0}) w.add(x);
  CHECK(w.size() == 3);
  CHECK(w.scale(1e-9).center == Approx(2.0));
}
