// Issue 17, serving channels end to end: the real edgefed-sim starts a real
// edgefed-server and 10 real agents (TLS on 127.0.0.1), async FedBuff with
// plain FedAvg. For the first 30 versions every agent is honest: the
// canary cohort (4 agents, 3 of the 7 "big" and 1 of the 3 "small") validates each canary and the fleet promotes
// improving versions; the cohort spans both device classes of the fleet.
// From version 30 agents 0-2 send updates scaled by -6
// (the attack seam): the global model collapses, every damaged canary is
// rejected by the cohort's validation, no agent outside the cohort ever
// serves a rejected version, and the fleet's serving accuracy (each agent's
// served version, measured on 2,000 test images) never falls by more than
// the 2-point threshold (plus 1 point of margin for the test set).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../../support/run_with_deadline.hpp"

namespace fs = std::filesystem;
using edgefed::testing::run_with_deadline;

TEST_CASE("canary rollout: improving versions are promoted, damaged ones rejected and never served outside the cohort",
          "[integration][sim]") {
  const fs::path dir = fs::temp_directory_path() / ("edgefed_canary_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  const std::string log = (dir / "sim.log").string();
  const std::vector<std::string> args = {
      EDGEFED_SIM_BIN, "--agents=10", "--mode=async", "--seed=5", "--work-dir=" + dir.string(),
      "--json-summary=" + summary, "--outage-interval=0", "--fleet-outages=", "--server-restarts=",
      "--device-mix=big:0.7:1,small:0.3:1", "--duration=20", "--drain-timeout=20", "--partition=iid", "--model=mlp:784-32-10",
      "--eval-interval=2", "--record-serving", "--attack-agents=0-2", "--attack-mode=scale:-6",
      "--attack-from-version=30",
      "--server-arg=--buffer-k=3;--task-steps=20;--canary-fraction=0.3;--canary-min-agents=3;--canary-soak=2;"
      "--canary-timeout=20;--serve-threshold=0.02"};
  REQUIRE(run_with_deadline(args, log, 180) == 0);
  std::ifstream in(summary);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("serving"));
  const auto& s = j["serving"];
  std::ostringstream timeline;
  for (const auto& c : s["changes"])
    timeline << "  " << c["seconds"].get<double>() << " s  v" << c["version"] << " " << c["channel"].get<std::string>()
             << "  test accuracy " << c["accuracy"].dump() << "  " << c["reason"].get<std::string>() << "\n";
  double first = -1, best = 0;
  for (const auto& p : s["timeline"]) {
    if (p["agents_serving"].get<int64_t>() == 0) continue;
    const double a = p["serving_accuracy"].get<double>();
    if (first < 0) first = a;
    best = std::max(best, a);
  }
  INFO("channel changes:\n" << timeline.str() << "log: " << log);
  std::printf("canary timeline (max drop of the serving accuracy %.4f, from %.4f to a best of %.4f):\n%s",
              s["max_drop"].get<double>(), first, best, timeline.str().c_str());
  std::fflush(stdout);
  CHECK(s["promoted"].get<int64_t>() >= 3);  // the first version and at least two canaries
  CHECK(best >= first + 0.3);                // the fleet serves improving models
  CHECK(s["rejected"].get<int64_t>() >= 1);
  CHECK(s["served_rejected_outside_cohort"].get<int64_t>() == 0);
  CHECK(s["served_rejected_in_cohort"].get<int64_t>() == 0);  // the cohort's own validation refuses them too
  CHECK(s["max_drop"].get<double>() <= 0.03);
  // The cohort spans both device classes (7 big, 3 small: ceil(0.3 x 7) + ceil(0.3 x 3) = 3 + 1).
  REQUIRE(s["cohort_classes"].contains("big"));
  REQUIRE(s["cohort_classes"].contains("small"));
  CHECK(s["cohort_classes"]["big"]["agents"] == 7);
  CHECK(s["cohort_classes"]["big"]["cohort"] == 3);
  CHECK(s["cohort_classes"]["small"]["agents"] == 3);
  CHECK(s["cohort_classes"]["small"]["cohort"] == 1);
  // The global (training) model did collapse: what was refused was damaged.
  CHECK(j["final_accuracy"].get<double>() < 0.5);
  fs::remove_all(dir);
}
