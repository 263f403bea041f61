#include "server/aggregation/staleness.hpp"

#include <catch2/catch.hpp>

using edgefed::Code;
using edgefed::server::StalenessFunction;
using edgefed::server::StalenessKind;

TEST_CASE("staleness functions give the documented discounts", "[unit][staleness]") {
  auto row = GENERATE(table<std::string, double, double, int64_t, double>({
      {"constant", 0.5, 4, 0, 1.0},
      {"constant", 0.5, 4, 50, 1.0},
      {"polynomial", 0.5, 0, 0, 1.0},
      {"polynomial", 0.5, 0, 3, 0.5},          // (1+3)^-0.5
      {"polynomial", 0.5, 0, 8, 1.0 / 3.0},    // (1+8)^-0.5
      {"polynomial", 1.0, 0, 9, 0.1},          // (1+9)^-1
      {"polynomial", 0.0, 0, 9, 1.0},
      {"hinge", 0.5, 4, 0, 1.0},
      {"hinge", 0.5, 4, 4, 1.0},               // inside the hinge
      {"hinge", 0.5, 4, 6, 0.5},               // 1 / (0.5 * 2 + 1)
      {"hinge", 2.0, 1, 3, 0.2},               // 1 / (2 * 2 + 1)
      {"polynomial", 0.5, 0, -2, 1.0},         // negative tau treated as 0
  }));
  auto f = StalenessFunction::create(*edgefed::parse_enum<StalenessKind>(std::get<0>(row)), std::get<1>(row), std::get<2>(row));
  REQUIRE(f.is_ok());
  CHECK((*f)(std::get<3>(row)) == Approx(std::get<4>(row)).epsilon(1e-15));
}

TEST_CASE("staleness functions refuse bad configuration", "[unit][staleness]") {
  CHECK_FALSE(edgefed::parse_enum<StalenessKind>("exponential"));  // --staleness-fn refuses it
  CHECK(StalenessFunction::create(StalenessKind::kPolynomial, -1, 0).status().code() == Code::kInvalidArgument);
  CHECK(StalenessFunction::check(StalenessKind::kHinge, 0.5, -1).code() == Code::kInvalidArgument);
  CHECK(StalenessFunction::create(StalenessKind::kHinge, 0.5, -1).status().code() == Code::kInvalidArgument);
  CHECK(StalenessFunction::create(StalenessKind::kHinge, 0.5, 4)->describe() == "hinge(a=0.5,b=4)");
  CHECK(StalenessFunction::create(StalenessKind::kPolynomial, 0.5, 0)->describe() == "polynomial(a=0.5)");
  CHECK(StalenessFunction().describe() == "constant");
}
