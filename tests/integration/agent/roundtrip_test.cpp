#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "agent_rig.hpp"

using namespace edgefed::testing;

TEST_CASE("edgefed-agent --once: one round trip over mutual TLS", "[integration]") {
  AgentRig rig;
  AgentProcess agent(rig.agent_args(0, {"--once"}), rig.dir.file("agent.log"));
  agent.start();
  const int rc = agent.wait(std::chrono::seconds(90));
  INFO(agent.log());
  REQUIRE(rc == 0);
  const AgentJournal j = read_agent_journal(rig.agent_state(0));
  CHECK(j.updates_created == 1);
  CHECK(j.updates_acked == 1);
  CHECK(j.pending_updates == 0);
  CHECK(j.pending_telemetry == 0);
  CHECK(j.telemetry_acked >= 2);
  CHECK(std::filesystem::exists(rig.agent_state(0) + "/model.safetensors"));
  struct stat st {};
  REQUIRE(::stat((rig.agent_state(0) + "/outbox.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(agent.log().find("link_online") != std::string::npos);

  REQUIRE(rig.server.terminate() == 0);
  const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(0));
  CHECK(s.update_ids == j.acked_update_ids);
  const Reconciliation r = reconcile(j, s);
  INFO(r.describe());
  CHECK(r.updates_lost == 0);
  CHECK(r.updates_double_counted == 0);
  CHECK(r.telemetry_lost == 0);
  CHECK(r.telemetry_double_counted == 0);
}

TEST_CASE("edgefed-agent --once trains the 784-128-10 MLP on a Fashion-MNIST slice", "[integration]") {
  const std::string fmnist = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(fmnist)) {
    WARN("skipped: " << fmnist << " not installed");
    return;
  }
  AgentRig rig({"--buffer-k", "1"});  // the default model: mlp:784-128-10
  auto args = rig.agent_args(1, {"--once"});
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--data") args[i + 1] = "idx:" + fmnist + ":3/100:dirichlet:0.5:seed=7";
  AgentProcess agent(args, rig.dir.file("agent.log"));
  agent.start();
  const int rc = agent.wait(std::chrono::seconds(180));
  INFO(agent.log());
  REQUIRE(rc == 0);
  REQUIRE(rig.server.terminate() == 0);
  const AgentJournal j = read_agent_journal(rig.agent_state(1));
  const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(1));
  CHECK(s.update_ids == j.acked_update_ids);
  CHECK(s.ledger_rows == 1);
  CHECK(s.max_peak_rss_bytes > 0);
  std::cout << "agent peak RSS (this build, 600-image slice, 784-128-10): "
            << s.max_peak_rss_bytes / (1 << 20) << " MiB\n";
}

TEST_CASE("edgefed-agent --once trains a forecaster on a stream of sensor readings and ships its scale",
          "[integration]") {
  AgentRig rig({"--model-init", "forecast-cnn1d:24", "--buffer-k", "1"});
  // 200 hourly readings of one sensor: a daily cycle around 50.
  std::string readings;
  for (int t = 0; t < 200; ++t)
    readings += std::to_string(50 + 8 * std::sin(t * 0.2618) + 0.01 * (t % 7)) + "\n";
  const std::string file = rig.dir.file("readings.csv");
  std::ofstream(file) << readings;
  auto args = rig.agent_args(2, {"--once"});
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--data") args[i + 1] = "stream:" + file + ":window=24:batch=16";
  AgentProcess agent(args, rig.dir.file("agent.log"));
  agent.start();
  const int rc = agent.wait(std::chrono::seconds(90));
  INFO(agent.log());
  REQUIRE(rc == 0);
  REQUIRE(rig.server.terminate() == 0);
  const ServerRecords s = read_server_records(rig.server_state(), Pki::agent_id(2));
  CHECK(s.ledger_rows == 1);
  // The merged version's file says how its inputs were scaled: the running
  // mean and std of the readings (feature channel, then target channel).
  const auto n = nlohmann::json::parse(newest_checkpoint_normalizer(rig.server_state()));
  REQUIRE(n["mean"].size() == 2);
  CHECK(n["mean"][0].get<double>() == Approx(50).margin(1.5));
  CHECK(n["std"][0].get<double>() == Approx(8 / std::sqrt(2.0)).epsilon(0.15));
  CHECK(n["mean"][1] == n["mean"][0]);
}

TEST_CASE("edgefed-agent --check-config and bad configuration exit codes", "[integration]") {
  AgentRig rig;
  {
    AgentProcess ok(rig.agent_args(0, {"--check-config"}), rig.dir.file("check.log"));
    ok.start();
    CHECK(ok.wait(std::chrono::seconds(30)) == 0);
    CHECK(ok.log().find("configuration ok") != std::string::npos);
  }
  // A key readable by others is refused.
  const std::string loose_key = rig.dir.file("loose.key");
  std::filesystem::copy_file(fleet_pki().agent_key(0), loose_key);
  ::chmod(loose_key.c_str(), 0644);
  auto [flag, value] = GENERATE_COPY(table<std::string, std::string>({
      {"--server", "http://127.0.0.1:1"},
      {"--data", "idx"},
      {"--key", loose_key},
      {"--backoff-jitter", "7"},
      {"--no-such-flag", "1"},
  }));
  AgentProcess bad(rig.agent_args(0, {"--check-config", flag, value}), rig.dir.file("bad.log"));
  bad.start();
  INFO(flag << " " << value << ": " << bad.log());
  CHECK(bad.wait(std::chrono::seconds(30)) == 2);
  const std::string log = bad.log();
  CHECK(log.find("edgefed-agent: ") == 0);
  CHECK(std::count(log.begin(), log.end(), '\n') == 1);
  std::filesystem::remove(rig.dir.file("bad.log"));
}
