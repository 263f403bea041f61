// Site relays end to end (issue 20, docs/relays.md): the real edgefed-sim
// starts a central edgefed-server, two relays (edgefed-server --upstream,
// each uplink through the sim's fault proxy) and 12 real agents, 6 per
// relay, all over TLS on 127.0.0.1. Relay 0's uplink is cut for 15 s while
// its agents go on. The audit then matches every agent's journal against
// its relay's store, and every relay batch against the central ledger:
// nothing lost or counted twice, the cut's backlog sent once the uplink is
// back, and the central server took several agent updates per request.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../support/run_with_deadline.hpp"

namespace fs = std::filesystem;
using edgefed::testing::run_with_deadline;

TEST_CASE("12 agents behind 2 relays learn through a relay's uplink cut, losing nothing", "[integration][sim][relay]") {
  const fs::path dir = fs::temp_directory_path() / ("edgefed_relay_fleet_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  const std::string log = (dir / "sim.log").string();
  const std::vector<std::string> args = {
      EDGEFED_SIM_BIN, "--agents=12", "--relays=2", "--relay-k=4", "--mode=async", "--seed=3",
      "--work-dir=" + dir.string(), "--json-summary=" + summary, "--outage-interval=0", "--fleet-outages=",
      "--server-restarts=", "--relay-cut=8:15", "--duration=35", "--drain-timeout=30", "--partition=iid",
      "--model=mlp:784-32-10", "--eval-interval=2"};
  REQUIRE(run_with_deadline(args, log, 240) == 0);
  std::ifstream in(summary);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  REQUIRE(j.is_object());
  INFO("sim log: " << log << "\nsummary: " << j.dump(2).substr(0, 3000));
  REQUIRE(j.contains("relays"));
  const auto& r = j["relays"];
  CHECK(j["records_lost"].get<int64_t>() == 0);
  CHECK(j["records_double_counted"].get<int64_t>() == 0);
  CHECK(j["audit"]["acked_updates"].get<int64_t>() > 0);
  CHECK(r["batches_refused"].get<int64_t>() == 0);  // the sim gives the central server a bound covering the cut
  CHECK(r["updates_forwarded"].get<int64_t>() == j["audit"]["acked_updates"].get<int64_t>());
  CHECK(r["updates_per_central_request"].get<double>() >= 2.0);  // K = 4, remainders flushed after 1 s
  CHECK(r["uplink_cut_seconds"].get<double>() >= 14.0);
  CHECK(r["drain_seconds_after_cut"].get<double>() >= 0.0);  // relay 0 sent its backlog
  CHECK(j["final_accuracy"].get<double>() >= 0.6);          // and the fleet learned
  fs::remove_all(dir);
}
