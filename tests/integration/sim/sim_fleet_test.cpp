// A small fleet end to end: the real edgefed-sim binary starts a real
// edgefed-server and 12 real agents over TLS on 127.0.0.1, cuts the whole
// fleet's links, SIGKILLs and restarts the server mid-training, drains, and
// audits the server's records against every agent's journal. Then a small
// CNN fleet from a model spec file, through a server restart.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../../support/run_with_deadline.hpp"
#include "edgefed/model_io.hpp"

namespace fs = std::filesystem;
using edgefed::testing::run_with_deadline;

TEST_CASE("a 12-agent fleet learns through a fleet outage and a server crash, losing nothing",
          "[integration][sim]") {
  const fs::path dir = fs::temp_directory_path() / ("edgefed_sim_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  const int rc = run_with_deadline(
      {EDGEFED_SIM_BIN, "--agents=12", "--work-dir=" + dir.string(), "--json-summary=" + summary,
       // Goal-based, not time-based: under ASan on a loaded 2-core machine a
       // version takes several times longer than in a release build, so the
       // run trains until 0.72 (after the scripted crash) or 360 s.
       "--duration=360", "--target-accuracy=0.72", "--fleet-outages=8:6", "--server-restarts=22",
       "--outage-interval=30", "--outage-duration=4", "--drain-timeout=120", "--eval-interval=3",
       "--seed=7",
       // What is asserted (learning, faults, nothing lost) does not need the
       // default 784-128-10 MLP and whole local epochs: a 784-32-10 MLP (a
       // quarter of the parameters to train, send, store and evaluate) and
       // 40 local steps per task reach 0.72 in about a quarter of the time
       // (under ASan on 2 loaded cores: 35-57 s of simulated time against
       // 226 s), with more versions between the faults.
       "--model=mlp:784-32-10", "--server-arg=--task-steps=40"},
      (dir / "sim.log").string(), 600);
  INFO("edgefed-sim log: " << (dir / "sim.log").string());
  REQUIRE(rc == 0);
  std::ifstream in(summary);
  REQUIRE(in.good());
  const auto j = nlohmann::json::parse(in);

  // Learning: Fashion-MNIST, non-IID (dirichlet 0.5), a small fleet.
  CHECK(j["best_accuracy"].get<double>() >= 0.70);
  CHECK(j["final_accuracy"].get<double>() >= 0.60);
  CHECK(j["versions"].get<int64_t>() >= 10);
  // Faults happened as scripted.
  CHECK(j["server_restarts"].get<int64_t>() == 1);
  CHECK(j["fleet_outages"].get<int64_t>() == 1);
  CHECK(j["outbox_peak_records"].get<int64_t>() > 0);
  // Every outbox drained, and the server holds exactly what the agents'
  // journals say it acknowledged.
  CHECK(j["outbox_left"].get<int64_t>() == 0);
  REQUIRE(j["records_lost"].is_number());
  CHECK(j["records_lost"].get<int64_t>() == 0);
  CHECK(j["records_double_counted"].get<int64_t>() == 0);
  CHECK(j["audit"]["acked_updates"].get<int64_t>() == j["audit"]["server_updates"].get<int64_t>() -
                                                          j["audit"]["unconfirmed"].get<int64_t>() +
                                                          0);
  CHECK(j["records_forwarded"].get<int64_t>() > 0);
  CHECK(j["curve"].size() >= 3);
  CHECK(fs::exists(dir / "curve.csv"));
  CHECK(fs::exists(dir / "curve.png"));
  fs::remove_all(dir);
}

TEST_CASE("a small CNN fleet learns Fashion-MNIST from a model spec file", "[integration][sim]") {
  const fs::path dir = fs::temp_directory_path() / ("edgefed_sim_cnn_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string summary = (dir / "summary.json").string();
  // Small on purpose (a strided 5x5 convolution to 4 channels, pooling, one
  // dense layer): what is asserted is that conv models train, merge, are
  // checkpointed and evaluated end to end, not the preset's accuracy.
  const std::string spec = (dir / "small-cnn.json").string();
  std::ofstream(spec) << R"({"name":"small-cnn","input":[1,28,28],"layers":[)"
                         R"({"type":"conv2d","out":4,"kernel":5,"stride":2},{"type":"relu"},)"
                         R"({"type":"maxpool2d","kernel":2},{"type":"flatten"},{"type":"dense","out":10}],)"
                         R"("loss":"softmax_cross_entropy"})";
  const int rc = run_with_deadline(
      {EDGEFED_SIM_BIN, "--agents=4", "--work-dir=" + dir.string(), "--json-summary=" + summary, "--duration=240",
       "--target-accuracy=0.62", "--eval-interval=2", "--seed=3", "--model=" + spec,
       "--server-arg=--task-steps=30",
       // One early server restart (checkpoint reload of a conv model), no
       // link outages: the first test covers those.
       "--server-restarts=8", "--fleet-outages=", "--outage-interval=0"},
      (dir / "sim.log").string(), 400);
  INFO("edgefed-sim log: " << (dir / "sim.log").string());
  REQUIRE(rc == 0);
  std::ifstream in(summary);
  REQUIRE(in.good());
  const auto j = nlohmann::json::parse(in);
  CHECK(j["best_accuracy"].get<double>() >= 0.60);
  CHECK(j["versions"].get<int64_t>() >= 3);
  CHECK(j["outbox_left"].get<int64_t>() == 0);
  REQUIRE(j["records_lost"].is_number());
  CHECK(j["records_lost"].get<int64_t>() == 0);
  CHECK(j["records_double_counted"].get<int64_t>() == 0);
  // The model an agent holds describes itself: PyTorch's names and shapes
  // for the spec, which travels in the file.
  std::ifstream model_in(dir / "agents" / "agent-000" / "model.safetensors", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(model_in)), std::istreambuf_iterator<char>());
  auto model = edgefed::decode_model({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  REQUIRE(model.is_ok());
  CHECK_THAT(model->metadata["model_spec"], Catch::Contains("\"name\":\"small-cnn\""));
  const auto& t = model->model.layout.tensors();
  REQUIRE(t.size() == 4);
  CHECK(t[0].name == "layers.0.weight");
  CHECK(t[0].shape == std::vector<int64_t>{4, 1, 5, 5});
  CHECK(t[2].name == "layers.4.weight");
  CHECK(t[2].shape == std::vector<int64_t>{10, 144});  // 4 channels x 6 x 6
  std::ifstream task_in(dir / "agents" / "agent-000" / "task.json");
  const auto task = nlohmann::json::parse(task_in);
  CHECK(task["model_spec"]["name"] == "small-cnn");
  CHECK(task["layout_fingerprint"] == model->model.layout.fingerprint());
  fs::remove_all(dir);
}
