// What one edgefed-sim run does: the fleet, its devices, its faults, its
// server. Parsed from flags by the table in main.cpp; every field has its default.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/test_seam/attack.hpp"
#include "edgefed/protocol.hpp"

namespace edgefed::sim {

struct SimConfig {
  int agents = 100;                         // fleet size
  std::string work_dir = "out/sim";         // certs, server state, agent outboxes, results
  std::string json_summary;                 // write the summary JSON here ("" = work_dir/summary.json)
  std::string server_url;                   // "" = start our own server
  std::string server_bin;                   // edgefed-server to start ("" = next to edgefed-sim)
  std::string certs_tool;                   // deploy/certs/edgefed-certs
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  // Instead of Fashion-MNIST: every agent's data from this data spec (csv:
  // or series:, without a partition; agent i of N adds ":i/N"), and the
  // held-out set the curve is measured on (ml::Evaluator::open).
  std::string data;
  std::string test_data;
  MergeMode mode = MergeMode::kAsync;       // server mode
  std::string model = "mlp:784-128-10";
  std::string partition = "dirichlet:0.5";  // iid | dirichlet:A | shards:K
  // Test seam: agent indices whose data is corrupted ("0,3") and how
  // (labels | noise for images and csv; stuck | spikes | drift, a broken
  // sensor, for a series); see ml/include/edgefed/ml/corrupt.hpp.
  std::set<int> corrupt_agents;
  std::string corrupt_mode = "labels";
  // Test seam: agent index -> the hostile updates it sends (attack_mix.hpp).
  std::map<int, agent::Attack> attacks;
  std::string attack_mode = "mixed";
  int64_t attack_from_version = 0;          // hostile agents are honest before this version
  uint64_t seed = 1;
  std::string device_mix = "celeron:0.3:4,i3:0.3:2,i5:0.3:1,i7:0.1:0.7";  // name:share:slowdown
  // Fleet time (agent/test_seam/device_pacer.hpp): every round lasts its
  // device time x `dilation` wall seconds, measured in thread CPU time, and
  // results are reported in fleet seconds (wall / dilation) too. dilation
  // 0 = chosen from the device mix and the cores (sim/fleet_time.hpp).
  bool fleet_time = false;
  double dilation = 0;
  Encoding encoding = Encoding::kF32;       // update encoding the agents use
  double duration_s = 240;                  // training time limit (then drain)
  double target_accuracy = 0;               // stop early once reached (0 = never)
  // Stop training once the global model reaches this version (0 = never),
  // and report the accuracy of exactly that version, so runs compare after
  // the same number of versions.
  int64_t stop_version = 0;
  bool keep_running = false;                // keep training after the summary until SIGINT
  double eval_interval_s = 2;               // evaluate the global model at most this often
  bool record_serving = false;              // record the serving channels (ServingRecorder)
  // Faults. Random per-agent outages: mean seconds between outages (0 = off)
  // and mean outage length; whole-fleet outages "AT:DURATION,..." in seconds
  // from the start; server SIGKILL + restart at "T,..." seconds.
  double outage_mean_interval_s = 90;
  double outage_mean_duration_s = 8;
  std::string fleet_outages = "60:12";
  std::string server_restarts = "110";
  double drain_timeout_s = 90;              // after training: wait for outboxes to empty
  std::vector<std::string> server_args;     // extra "--flag=value" for our server
  int server_threads = 2;
  // Site relays (docs/relays.md): this many edgefed-server --upstream
  // processes between the agents and our server, agent i on relay i mod N;
  // each forwards one partial sum per relay_k updates. 0 = none.
  int relays = 0;
  int relay_k = 10;
  double relay_flush_s = 1;
  // Relay 0's uplink cut at AT for DURATION seconds ("AT:DURATION", "" =
  // none): its agents go on, the relay buffers and drains afterwards.
  std::string relay_cut;  // the relays' --relay-flush (these agents train a round in about a second)
};

}  // namespace edgefed::sim
