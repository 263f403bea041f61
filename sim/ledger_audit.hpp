// Compares what the agents' journals say the server acknowledged with what
// the server's SQLite state holds, record by record, after both stopped:
// every acknowledged update (by update_id) and telemetry record (by seq) must
// be stored, none stored twice, and every stored update merged into at most
// one version. Reads the agents' outbox.db journal tables (agent/outbox/
// FORMAT.md) and the server's edgefed.sqlite (server/store/FORMAT.md),
// read-only.
#pragma once

#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::sim {

struct AuditResult {
  int64_t server_updates = 0;    // ledger rows of these agents
  int64_t server_telemetry = 0;  // telemetry rows of these agents
  int64_t acked_updates = 0;     // distinct update ids the journals record as acked
  int64_t acked_telemetry = 0;   // distinct seqs the journals record as acked
  int64_t lost = 0;              // acked but not stored
  int64_t double_counted = 0;    // stored twice, or merged into more than one version
  // Stored, but the agent never saw the ack (the answer was cut off, then the
  // record was dropped by the outbox bound or was still queued): legal.
  int64_t unconfirmed = 0;
  int64_t merged = 0;            // ledger rows consumed by a version
  int64_t samples_merged = 0;    // sum of num_samples over merged updates
  // Secure aggregation: rounds the agents saw end "done" (their update is
  // in the session's sum), and how many of those sessions the ledger holds
  // as merged sums (rows of kSecAggLedgerAgent). A done round whose
  // session is missing is lost.
  int64_t secagg_rounds_done = 0;
  int64_t secagg_sessions_merged = 0;
};

// `server_db`: the server's edgefed.sqlite; `agents_dir`/<id>/outbox.db for
// each id in `agent_ids`. Plain updates are matched by update id, secure
// aggregation rounds by session id (a session's sum is one ledger row).
Result<AuditResult> audit_ledger(const std::string& server_db, const std::string& agents_dir,
                                 const std::vector<std::string>& agent_ids);

// Site relays: a relay's partial sums against the central server's ledger.
// Every relay ledger row must be forwarded (consumed as kForwarded) in a
// batch the central server accepted, and that batch must be in the central
// ledger under the relay's agent id exactly once. A batch the central server
// refused (410 too stale, ...) is answered, like an agent's refused update:
// its rows count as refused, not lost.
struct RelayBatchAudit {
  int64_t accepted = 0;                  // batches accepted (or duplicate) upstream
  int64_t refused = 0;                   // batches the central server refused
  int64_t updates_forwarded = 0;         // agent updates in accepted batches
  int64_t updates_merged_centrally = 0;  // of those, in batches the central server merged
  int64_t updates_refused = 0;           // agent updates in batches the central server refused (its
                                         // policy, e.g. too stale after a long cut: counted, not lost)
  int64_t lost = 0;                      // relay rows in no answered batch, or in one the centre lacks
  int64_t double_counted = 0;            // agent updates in two batches
};
Result<RelayBatchAudit> audit_relay_batches(const std::string& relay_db, const std::string& central_db,
                                            const std::string& relay_agent_id);

// What a (running) relay still holds from before `cutoff_unix_ms`: ledger
// rows not yet in a batch plus batches not yet answered upstream.
Result<int64_t> relay_unsent(const std::string& relay_db, int64_t cutoff_unix_ms);

}  // namespace edgefed::sim
