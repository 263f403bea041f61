#include "attack_mix.hpp"

#include <catch2/catch.hpp>

using namespace edgefed;
using namespace edgefed::sim;
using Kind = agent::Attack::Kind;

TEST_CASE("sim attack mix: agent indices, lists and ranges", "[unit]") {
  auto none = parse_agent_indices("", 20);
  REQUIRE(none.is_ok());
  CHECK(none->empty());
  auto some = parse_agent_indices("0,3,5-7,3", 20);
  REQUIRE(some.is_ok());
  CHECK(*some == std::set<int>{0, 3, 5, 6, 7});
  CHECK(*parse_agent_indices("19", 20) == std::set<int>{19});
  for (const char* bad : {"20", "-1", "x", "3-1", "1-", "0-20", "1.5", "2 "}) {
    INFO(bad);
    CHECK(parse_agent_indices(bad, 20).status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("sim attack mix: one attack for all, or sign-flip, scale:10, noise in turn", "[unit]") {
  auto all = assign_attacks({1, 4}, "scale:10");
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 2);
  CHECK(all->at(1).kind == Kind::kScale);
  CHECK(all->at(4).value == 10.0);

  auto mixed = assign_attacks({0, 1, 2, 3}, "mixed");
  REQUIRE(mixed.is_ok());
  CHECK(agent::to_string(mixed->at(0)) == "sign-flip");
  CHECK(agent::to_string(mixed->at(1)) == "scale:10");
  CHECK(mixed->at(2).kind == Kind::kNoise);
  CHECK(mixed->at(2).value == agent::kDefaultNoiseStddev);
  CHECK(agent::to_string(mixed->at(3)) == "sign-flip");
  auto loud = assign_attacks({5, 9, 12}, "mixed:3");
  REQUIRE(loud.is_ok());
  CHECK(agent::to_string(loud->at(12)) == "noise:3");

  CHECK(assign_attacks({}, "mixed")->empty());
  for (const char* bad : {"none", "flip", "mixed:0", "mixed:x", "scale"}) {
    INFO(bad);
    CHECK(assign_attacks({}, bad).status().code() == Code::kInvalidArgument);  // a typo is an error
    CHECK(assign_attacks({0}, bad).status().code() == Code::kInvalidArgument);
  }
}
