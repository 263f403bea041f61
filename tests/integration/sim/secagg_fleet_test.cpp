// Secure aggregation end to end (issue 18): the real edgefed-sim starts a
// real edgefed-server with --secure-aggregation=secagg+ and 12 real agents
// over TLS; the agents learn through SecAgg+ cohorts while the server is
// SIGKILLed and restarted mid-training (sessions in every phase resume
// from the state database or abort, and their agents train again). The
// audit then matches every round an agent saw end "done" to a merged
// session sum: nothing lost, nothing counted twice, and no agent ever sent
// a plain update.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../../support/run_with_deadline.hpp"

namespace secagg_fleet_test {

namespace fs = std::filesystem;
using edgefed::testing::run_with_deadline;

TEST_CASE("a 12-agent fleet learns with secure aggregation through a server crash, losing nothing",
          "[integration][sim][secagg]") {
  const fs::path dir = fs::temp_directory_path() / ("edgefed_sim_secagg_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  const int rc = run_with_deadline(
      {EDGEFED_SIM_BIN, "--agents=12", "--mode=async", "--work-dir=" + dir.string(), "--json-summary=" + summary,
       // Goal-based, as the plain fleet test: under ASan on 2 loaded cores
       // a session takes several times longer than in a release build.
       "--duration=360", "--target-accuracy=0.70", "--server-restarts=15", "--fleet-outages=",
       "--outage-interval=0", "--drain-timeout=120", "--eval-interval=3", "--seed=11", "--model=mlp:784-32-10",
       // Cohorts of 4 (k = 3, t = 2), 40 local steps per task; a short phase
       // timeout so that a session cut by the crash ends soon.
       "--server-arg=--secure-aggregation=secagg+;--buffer-k=4;--task-steps=40;--secagg-phase-timeout=10"},
      (dir / "sim.log").string(), 600);
  INFO("edgefed-sim log: " << (dir / "sim.log").string());
  REQUIRE(rc == 0);
  std::ifstream in(summary);
  REQUIRE(in.good());
  const auto j = nlohmann::json::parse(in);
  INFO(j.dump().substr(0, 2000));

  CHECK(j["best_accuracy"].get<double>() >= 0.68);
  CHECK(j["versions"].get<int64_t>() >= 10);
  CHECK(j["server_restarts"].get<int64_t>() == 1);
  // Only sums: no plain update reached the ledger, every version merged one session.
  CHECK(j["audit"]["server_updates"].get<int64_t>() == 0);
  CHECK(j["audit"]["acked_updates"].get<int64_t>() == 0);
  const auto sessions = j["audit"]["secagg_sessions_merged"].get<int64_t>();
  const auto rounds = j["audit"]["secagg_rounds_done"].get<int64_t>();
  CHECK(sessions >= 10);
  CHECK(rounds >= 2 * sessions);  // at least t = 2 survivors in each
  CHECK(rounds <= 4 * sessions);  // at most the cohort
  REQUIRE(j["records_lost"].is_number());
  CHECK(j["records_lost"].get<int64_t>() == 0);
  CHECK(j["records_double_counted"].get<int64_t>() == 0);
  CHECK(j["outbox_left"].get<int64_t>() == 0);
  fs::remove_all(dir);
}

}  // namespace secagg_fleet_test
