// Integration rig: a real edgefed-server (ServerProcess, tests/integration/
// server) on 127.0.0.1:0 with a small model, a CSV data file, and the
// command line of a real edgefed-agent pointed at it.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agent_process.hpp"
#include "scratch_dir.hpp"
#include "server_process.hpp"

namespace edgefed::testing {

// Polls `done` every 20 ms until it holds (true) or `timeout` passes (false).
template <typename F>
bool eventually(F&& done, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

struct AgentRig {
  ScratchDir dir{"edgefed-agent-it"};
  ServerProcess server;
  std::string csv;

  explicit AgentRig(std::vector<std::string> server_flags = {"--model-init", "mlp:4-8-3", "--buffer-k", "2",
                                                             "--task-batch-size", "8", "--task-lr", "0.1"})
      : server(fleet_pki(), dir.file("server"), std::move(server_flags)), csv(dir.file("data.csv")) {
    write_small_csv(csv, 90, 5);
    server.start();
  }

  std::string server_state() const { return dir.file("server"); }
  std::string agent_state(int i) const { return dir.file("agent-" + std::to_string(i)); }

  // The agent's command line; `port` defaults to the server's.
  // `binary`: another agent executable (the cross-built one under qemu).
  std::vector<std::string> agent_args(int i, std::vector<std::string> extra = {}, uint16_t port = 0,
                                      const std::string& binary = EDGEFED_AGENT_BIN) const {
    const Pki& pki = fleet_pki();
    std::vector<std::string> a = {
        binary,
        "--server", "https://127.0.0.1:" + std::to_string(port ? port : server.port()),
        "--ca", pki.ca(),
        "--cert", pki.agent_cert(i),
        "--key", pki.agent_key(i),
        "--data", "csv:" + csv + ":label=last",
        "--state-dir", agent_state(i),
        "--backoff-initial-ms", "50",
        "--backoff-max-ms", "400",
        "--connect-timeout-ms", "2000",
        "--handshake-timeout-ms", "2000",
        "--request-timeout-ms", "5000",
        "--round-interval-ms", "150",
        "--telemetry-interval-ms", "300",
        "--idle-ms", "100",
        "--model-wait-s", "0",
        "--once-timeout-ms", "60000",
    };
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

// Zero lost, zero double-counted: the agent's journal against the server.
struct Reconciliation {
  int64_t updates_lost = 0;
  int64_t updates_double_counted = 0;
  int64_t telemetry_lost = 0;
  int64_t telemetry_double_counted = 0;
  std::string describe() const {
    return "updates lost " + std::to_string(updates_lost) + ", double-counted " +
           std::to_string(updates_double_counted) + "; telemetry lost " + std::to_string(telemetry_lost) +
           ", double-counted " + std::to_string(telemetry_double_counted);
  }
};

inline Reconciliation reconcile(const AgentJournal& j, const ServerRecords& s) {
  Reconciliation r;
  // Lost: acknowledged to the agent but absent on the server, or gone from
  // the agent without an ack, a refusal or a counted drop.
  for (const auto& id : j.acked_update_ids) r.updates_lost += s.update_ids.count(id) ? 0 : 1;
  r.updates_lost += j.updates_created - j.updates_acked - j.updates_rejected - j.updates_dropped -
                    j.pending_updates;
  // Double-counted: the server counts more than it holds distinct rows of,
  // or holds more than the agent saw acknowledged.
  r.updates_double_counted = (s.agent_updates - s.ledger_rows) +
                             std::max<int64_t>(0, s.ledger_rows - j.updates_acked);
  r.telemetry_lost = std::max<int64_t>(0, j.telemetry_acked - s.telemetry_rows) +
                     (j.telemetry_created - j.telemetry_acked - j.telemetry_rejected -
                      j.telemetry_dropped - j.pending_telemetry);
  r.telemetry_double_counted = (s.agent_telemetry - s.telemetry_rows) +
                               std::max<int64_t>(0, s.telemetry_rows - j.telemetry_acked);
  return r;
}

}  // namespace edgefed::testing
