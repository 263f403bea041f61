// Test support: the real edgefed-agent binary, started with fork/exec and
// killed by pid when the guard goes out of scope; plus read-only views of
// the agent's outbox journal and of the server's records of one agent, to
// compare the two ("zero lost, zero double-counted").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace edgefed::testing {

class AgentProcess {
 public:
  AgentProcess(std::vector<std::string> args, std::string log_file);
  ~AgentProcess();  // SIGKILL if still running, then reap
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  void start();
  bool running();
  void kill9();
  // SIGTERM, wait up to `timeout`; exit status or -1 (then SIGKILLed).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(20));
  // Waits for exit up to `timeout`; exit status, or -1 on timeout (then SIGKILLed).
  int wait(std::chrono::seconds timeout);
  std::string log() const;

 private:
  std::vector<std::string> args_;
  std::string log_file_;
  pid_t pid_ = -1;
};

// The agent's journal and queue, read from STATE_DIR/outbox.db (read-only;
// safe while the agent runs). All zero if the outbox does not exist yet.
struct AgentJournal {
  int64_t updates_created = 0, updates_acked = 0, updates_rejected = 0, updates_dropped = 0;
  int64_t telemetry_created = 0, telemetry_acked = 0, telemetry_rejected = 0, telemetry_dropped = 0;
  int64_t pending_updates = 0, pending_telemetry = 0;
  std::set<std::string> acked_update_ids;
  // Secure aggregation rounds (agent/outbox/FORMAT.md): counted ends and
  // the round still stored (0 or 1).
  int64_t secagg_rounds_created = 0, secagg_rounds_done = 0, secagg_rounds_aborted = 0;
  int64_t pending_secagg_rounds = 0;
};
AgentJournal read_agent_journal(const std::string& state_dir);

// What the server holds for one agent, from STATE_DIR/edgefed.sqlite
// (read-only; the server should be stopped for a final count).
struct ServerRecords {
  std::set<std::string> update_ids;  // ledger rows (UNIQUE(agent, update_id))
  int64_t ledger_rows = 0;
  int64_t telemetry_rows = 0;        // PRIMARY KEY(agent, seq)
  int64_t agent_updates = 0;         // the agents table's counters
  int64_t agent_telemetry = 0;
  double max_peak_rss_bytes = 0;     // from the agent's "system" telemetry
};
ServerRecords read_server_records(const std::string& server_state_dir, const std::string& agent);
// The newest checkpoint's input normalizer (Model::normalizer; "" = none).
std::string newest_checkpoint_normalizer(const std::string& server_state_dir);

// The updates the server holds but has not merged yet (ledger rows with a
// payload), decoded against the newest checkpoint's layout: agent id ->
// dense delta (one update per agent expected; a second one throws).
std::map<std::string, std::vector<float>> unmerged_update_deltas(const std::string& server_state_dir);

// The highest version the server committed (STATE_DIR/edgefed.sqlite).
int64_t newest_version(const std::string& server_state_dir);

// The records waiting in the agent's outbox (STATE_DIR/outbox.db), as the
// body of the POST /v1/telemetry the agent would send for them: what a test
// posts itself to have the server store a batch whose ack the agent never got.
std::string pending_telemetry_batch(const std::string& state_dir, const std::string& agent);

// What the server's fleet telemetry series should have counted, over its
// whole life, for the records it holds (STATE_DIR/edgefed.sqlite, all agents):
// edgefed_telemetry_records_total, edgefed_fleet_telemetry_records_total{kind}
// and the fleet histograms' _count (metrics_text.hpp names), each record once.
std::map<std::string, double> expected_fleet_counts(const std::string& server_state_dir);

// Writes a CSV of `rows` records: 4 features and a label in {0, 1, 2}.
void write_small_csv(const std::string& path, int rows, unsigned seed);

}  // namespace edgefed::testing
