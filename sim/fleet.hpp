// N real agents (the agent's own AgentLoop, each with its own state dir and
// SQLite outbox, its own client certificate and TLS connection) run as
// threads in this process. The training set is loaded once and every agent
// gets a view of its own partition slice. Device classes slow agents down;
// the outage plan cuts their links.
//
// Thread safety: start()/stop() from one thread; totals()/agent_ids() any.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "agent/loop/agent_loop.hpp"
#include "device_mix.hpp"
#include "outage_plan.hpp"

namespace edgefed::sim {

struct FleetOptions {
  int agents = 0;
  std::string agents_dir;   // one state dir per agent below it
  std::string certs_dir;    // edgefed-certs init output
  std::string server_url;   // https://127.0.0.1:PORT
  // Agent i talks to server_urls[i mod n] instead, when given (site relays).
  std::vector<std::string> server_urls;
  std::string data_dir;     // Fashion-MNIST IDX files
  std::string data;         // or: a csv:/series: spec every agent loads its slice of (":i/N" added)
  std::string partition = "dirichlet:0.5";
  std::set<int> corrupt_agents;       // these agents train on corrupted data
  std::string corrupt_mode = "labels";  // labels | noise (series: stuck | spikes | drift)
  std::map<int, agent::Attack> attacks;  // test seam: these agents send hostile updates
  uint64_t seed = 1;
  std::vector<DeviceClass> devices;  // one per agent
  // Fleet time (agent/test_seam/device_pacer.hpp): > 0 paces every round to
  // its device time x this dilation; 0 = the wall-time slowdown.
  double dilation = 0;
  const OutagePlan* outages = nullptr;  // may be null; must outlive the fleet
  std::chrono::steady_clock::time_point t0;
};

struct FleetTotals {
  int online = 0, offline = 0, unknown = 0;
  int64_t rounds = 0;
  int64_t outbox_updates = 0, outbox_telemetry = 0;
  int64_t secagg_rounds_active = 0;  // agents in the middle of a secure aggregation round
  agent::JournalCounts journal;  // summed over agents
};

class Fleet {
 public:
  static Result<std::unique_ptr<Fleet>> create(FleetOptions options,
                                               std::shared_ptr<const ml::DataStore> train_set);
  ~Fleet();
  void start();
  void stop();  // stops and joins every agent
  // Agents stop training new rounds but keep forwarding (the final drain).
  void pause_training();
  // Faults on or off (off for the final drain).
  void set_faults(bool on) { faults_flag_->store(on); }

  FleetTotals totals() const;
  std::vector<std::string> agent_ids() const;
  // Per agent (in agent order): the version it serves now (-1: none).
  std::vector<int64_t> serving_versions() const;
  // Per agent: every version it served, with the channel it was named for.
  std::vector<std::vector<agent::ServedVersion>> served_histories() const;
  // Fleet time: the device pacing of every agent, summed (zero without).
  agent::PaceStats pace_stats() const;
  // Agents that ended with a failed run() (disk errors): their reasons.
  std::vector<std::string> failures() const;

 private:
  Fleet() = default;
  FleetOptions options_;
  std::vector<std::unique_ptr<agent::AgentLoop>> agents_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<agent::DevicePacer>> pacers_;  // fleet time only
  std::vector<std::string> failures_;
  mutable std::mutex failures_mu_;
  std::shared_ptr<std::atomic<bool>> faults_flag_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace edgefed::sim
