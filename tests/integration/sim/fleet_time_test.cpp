// Issue 19, fleet time: the real edgefed-sim with --fleet-time and a
// dilation below 1 asks each device round to last less wall time than its
// own computation took, which no machine can do: every round falls behind
// its device time, and the summary must flag the run as saturated instead
// of reporting its timings as the fleet's. It still reports fleet seconds
// (wall / dilation) and the pacing of every round.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../../support/run_with_deadline.hpp"

namespace fs = std::filesystem;
using edgefed::testing::run_with_deadline;

TEST_CASE("fleet time: a run whose rounds cannot keep to their device time is flagged saturated", "[integration][sim]") {
  const fs::path dir = fs::temp_directory_path() / ("edgefed_fleet_time_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  const std::string log = (dir / "sim.log").string();
  REQUIRE(run_with_deadline({EDGEFED_SIM_BIN, "--agents=4", "--work-dir=" + dir.string(), "--json-summary=" + summary,
                             "--duration=6", "--drain-timeout=20", "--eval-interval=2", "--outage-interval=0",
                             "--fleet-outages=", "--server-restarts=", "--partition=iid", "--model=mlp:784-32-10",
                             "--device-mix=fast:0.5:1,slow:0.5:2", "--fleet-time", "--dilation=0.5",
                             "--server-arg=--task-steps=10"},
                            log, 120) == 0);
  std::ifstream in(summary);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  REQUIRE(j.is_object());
  INFO(j.dump(2).substr(0, 3000) << "\nlog: " << log);
  REQUIRE(j.contains("fleet_time"));
  const auto& f = j["fleet_time"];
  CHECK(f["dilation"].get<double>() == Approx(0.5));
  CHECK(f["rounds"].get<int64_t>() >= 4);
  // A fast device's round would need to take half its computation's time.
  CHECK(f["rounds_behind"].get<int64_t>() >= f["rounds"].get<int64_t>() / 2);
  CHECK(f["saturated"].get<bool>());
  CHECK(f["fleet_seconds"].get<double>() == Approx(j["seconds"].get<double>() / 0.5));
  CHECK(f["device_seconds"].get<double>() >= f["cpu_seconds"].get<double>());  // slowdowns >= 1
  REQUIRE(!j["curve"].empty());
  CHECK(j["curve"][0]["fleet_seconds"].get<double>() == Approx(j["curve"][0]["seconds"].get<double>() / 0.5));
  fs::remove_all(dir);
}
