// What one agent needs to run (AgentConfig, parsed from flags in
// agent_options.hpp) and the seams a simulator or test injects (AgentSeams).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "edgefed/ml/local_data.hpp"
#include "edgefed/clock.hpp"
#include "agent/link/link.hpp"
#include "agent/link/transport.hpp"
#include "agent/loop/forwarder.hpp"
#include "agent/loop/round_trainer.hpp"
#include "agent/outbox/outbox_types.hpp"
#include "agent/serve/serving_rule.hpp"
#include "agent/test_seam/attack.hpp"
#include "agent/test_seam/device_pacer.hpp"

namespace edgefed::agent {

struct AgentConfig {
  std::string agent_id;             // valid_agent_id(); also the update id prefix
  std::string state_dir;            // outbox.db, model cache, task.json, lock (created 0700)
  std::string data_spec;            // --data (unused when AgentSeams::data is given)
  LinkOptions link;                 // server URL, TLS files, timeouts, backoff
  OutboxLimits outbox_limits;       // bounding policy (outbox/FORMAT.md)
  bool outbox_full_sync = true;     // fsync every commit (power-loss safe)
  std::string outbox_vfs;           // SQLite VFS of the outbox (OutboxOptions::vfs); "" = default
  ForwardOptions forward;           // batch sizes
  RoundOptions round;               // accumulation, stream round bounds
  int64_t telemetry_interval_ms = 10000;  // "system" records; also the most telemetry
                                          // waits before it is posted (a full batch goes at once)
  int64_t task_refresh_ms = 30000;  // GET /v1/task at least this often (and on every new model)
  int64_t min_round_interval_ms = 0;      // pace rounds (0 = train back to back)
  // While the link is down, training stops once this many updates trained on
  // the current model are queued (0 = no cap): more rounds on the same old
  // model only queue near-copies of the same work, which reach the server
  // very stale (refused past max_staleness, or a flood of old directions
  // after a long outage), and cost the device energy. Default 0: the agent
  // keeps training offline (issue 4); the simulator may set 1.
  int64_t offline_updates_per_version = 0;
  int64_t idle_ms = 1000;           // wait when there is nothing to train on
  // Secure aggregation: wait between two GET /v1/secagg/next of the round
  // being driven (instead of idle_ms); each phase waits for the cohort.
  int64_t secagg_poll_ms = 200;
  int model_wait_s = 5;             // sync mode: long-poll for the next version
  uint64_t seed = 0;                // training data order; 0 = from the agent id
  std::string health_file;          // touched every iteration ("" = none)
  Attack attack;                    // test seam: hostile updates (agent/test_seam/attack.hpp)
  int64_t once_timeout_ms = 120000; // run_once(): give up forwarding after this
  // Serving (agent/serve/): a new global version replaces the served model
  // unless it is worse on the holdout by more than this (points of accuracy
  // as a fraction, or the relative rise of a loss; serving_rule.hpp).
  double serve_threshold = ServingRule::kDefaultThreshold;
  std::string predict_socket;       // local inference endpoint ("" = none)
  // Sent with system telemetry; the server spreads the canary cohort over
  // classes. valid_telemetry_key(); "" = send none.
  std::string device_class;
  int64_t predict_max_batch = 1024; // inputs per POST /v1/predict
};

struct AgentSeams {
  const Clock* clock = nullptr;                  // default: SystemClock
  // Replaces every wait of the loop (tests advance a FakeClock here). The
  // default waits on a condition variable that stop() signals.
  std::function<void(int64_t ms)> sleep;
  LinkFaultHook link_fault;                      // true = link cut right now
  // Device speed: after a round that trained for T seconds the agent idles
  // (slowdown - 1) x T more, as a device `slowdown` times slower would. >= 1.
  double slowdown = 1.0;
  // Fleet time (device_pacer.hpp): when set, a round lasts its device time
  // (thread CPU time x slowdown x dilation) instead; `slowdown` is unused.
  std::shared_ptr<DevicePacer> pacer;
  std::optional<ml::LocalData> data;                 // pre-loaded data (simulator)
  std::unique_ptr<Transport> transport;          // replaces HTTPS (tests)
};

}  // namespace edgefed::agent
