// Issue 5, robustness under attack. The real edgefed-sim starts a real
// edgefed-server and 20 real agents (TLS on 127.0.0.1); agents 0-3 are
// hostile and send, in turn, sign-flipped updates, updates scaled by 10 and
// Gaussian noise (stddev 10). Every run is synchronous (FedAvg rounds that
// wait for all 20 agents), has no link faults, uses one fixed seed and stops
// at version kVersions; the sim reads that exact version's checkpoint from
// the server's database and reports its test accuracy. FedAvg under attack
// must fall far below the clean run; median, trimmed mean and multi-Krum must
// stay within 3 accuracy points of it. docs/aggregation.md has the measured
// table this test's margins come from.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../support/run_with_deadline.hpp"

namespace fs = std::filesystem;
using edgefed::testing::run_with_deadline;

namespace {

constexpr int kSeed = 11;
constexpr int kVersions = 10;
// A version must be cheap under ASan on 2 loaded cores: 20 agents each take
// kTaskSteps local steps of batch 32 per round on a small MLP (25k
// parameters: the model download, update upload, SQLite ledger and outbox
// all scale with it; the default 784-128-10 made a version ~4x dearer).
constexpr int kTaskSteps = 20;
constexpr const char* kModel = "mlp:784-32-10";

struct Run {
  std::string name;
  bool hostile;
  std::string server_args;  // ';'-separated, for --server-arg
  double accuracy = -1;
  double seconds = 0;
  std::string error{};  // why the run gave no accuracy; empty when it did
  std::string logs{};   // where to look
};

// Two runs at a time: a run keeps about 1.3 cores busy (20 agents, one
// server, the sim), so on 2 cores a pair takes well under twice one run.
constexpr int kParallelRuns = 2;

// One sim run; sets r.accuracy to the accuracy of version kVersions, or
// r.error. Runs on a worker thread: no Catch2 assertion in here.
void run_sim(Run& r, const fs::path& root) {
  const fs::path dir = root / r.name;
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  const std::string log = (dir / "sim.log").string();
  std::vector<std::string> args = {
      EDGEFED_SIM_BIN, "--agents=20", "--mode=sync", "--seed=" + std::to_string(kSeed),
      "--versions=" + std::to_string(kVersions), "--work-dir=" + dir.string(), "--json-summary=" + summary,
      // No faults: the comparison is about the aggregator alone.
      "--outage-interval=0", "--fleet-outages=", "--server-restarts=",
      // Equal devices: every round gets its 20 updates quickly.
      "--device-mix=even:1:1", "--duration=180", "--drain-timeout=20",
      // IID shards: with dirichlet:0.5 the coordinate-wise median itself
      // costs 2-4 points against FedAvg without any attacker (measured,
      // docs/aggregation.md), which is not what this test is about.
      "--partition=iid", std::string("--model=") + kModel,
      // The accuracy comes from version kVersions' checkpoint; evaluating
      // during training (10k test images under ASan, ~10 s) would only delay
      // noticing that version kVersions was reached.
      "--eval-interval=100000",
      "--server-arg=--min-updates=20;--round-timeout=60;--task-steps=" + std::to_string(kTaskSteps) + ";" +
          r.server_args};
  if (r.hostile) args.insert(args.end(), {"--attack-agents=0-3", "--attack-mode=mixed"});
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = run_with_deadline(args, log, 240);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.logs = "edgefed-sim log " + log + ", server log " + (dir / "server.log").string();
  if (rc != 0) {
    r.error = "edgefed-sim exited with " + std::to_string(rc);
    return;
  }
  std::ifstream in(summary);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    r.error = "no readable " + summary;
  } else if (j.value("stop_version", int64_t{-1}) != kVersions || !j["accuracy_at_version"].is_number()) {
    r.error = "no accuracy at version " + std::to_string(kVersions) + " in " + j.dump();
  } else {
    r.accuracy = j["accuracy_at_version"].get<double>();
  }
}

}  // namespace

TEST_CASE("4 hostile agents of 20: FedAvg collapses while median and trimmed mean and multi-Krum hold",
          "[integration][attack]") {
  const fs::path root = fs::temp_directory_path() / ("edgefed_attack_test_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);

  std::vector<Run> runs = {
      {"fedavg-clean", false, "--aggregator=fedavg"},
      {"fedavg", true, "--aggregator=fedavg"},
      {"median", true, "--aggregator=median"},
      {"trimmed-mean", true, "--aggregator=trimmed-mean;--trim-beta=0.2"},
      {"krum", true, "--aggregator=krum;--krum-f=4"},
  };
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kParallelRuns; ++w)
    workers.emplace_back([&] {
      for (size_t i = next++; i < runs.size(); i = next++) run_sim(runs[i], root);
    });
  for (auto& w : workers) w.join();
  for (const auto& r : runs) {
    INFO(r.name << ": " << r.error << " (" << r.logs << ")");
    REQUIRE(r.error.empty());
  }

  std::ostringstream table;
  char line[160];
  std::snprintf(line, sizeof line, "accuracy at version %d (seed %d, 20 agents, sync, iid, %s, %d steps/round):\n",
                kVersions, kSeed, kModel, kTaskSteps);
  table << line;
  for (const auto& r : runs) {
    std::snprintf(line, sizeof line, "  %-14s %-10s %.4f  (%+.4f vs clean)  %5.1f s\n", r.name.c_str(),
                  r.hostile ? "4 hostile" : "clean", r.accuracy, r.accuracy - runs[0].accuracy, r.seconds);
    table << line;
  }
  std::printf("%s", table.str().c_str());
  std::fflush(stdout);
  WARN(table.str());  // always reported, so the CI log carries the table

  const double clean = runs[0].accuracy;
  CHECK(clean >= 0.70);  // the baseline learned
  // FedAvg under attack: far below the clean run (measured: see docs/aggregation.md).
  CHECK(runs[1].accuracy <= clean - 0.20);
  // The robust aggregators: within 3 accuracy points of the clean run.
  for (size_t i = 2; i < runs.size(); ++i) {
    INFO(runs[i].name);
    CHECK(runs[i].accuracy >= clean - 0.03);
  }
  fs::remove_all(root);
}
