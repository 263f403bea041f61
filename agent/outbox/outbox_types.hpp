// Value types of the agent's outbox (see outbox.hpp and FORMAT.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/protocol.hpp"

namespace edgefed::agent {

// The bounding policy; see FORMAT.md "When the outbox is full".
struct OutboxLimits {
  // Keep at most the newest N updates; older ones are dropped (counted).
  int64_t max_updates = 32;
  // Keep at most the newest N telemetry records; older ones are dropped.
  int64_t max_telemetry = 20000;
  // Bytes of stored payloads (update bodies + telemetry JSON). Above it the
  // oldest telemetry goes first, then the oldest updates; the newest update
  // is always kept.
  int64_t max_bytes = 64ll << 20;
};

struct OutboxOptions {
  std::string path{};  // the SQLite file; created with mode 0600
  OutboxLimits limits{};
  // PRAGMA synchronous=FULL (survives power loss) when true; NORMAL (survives
  // process crashes, SIGKILL included, but not power loss) when false.
  bool full_sync = true;
  // The SQLite VFS every file operation goes through; empty = SQLite's
  // default. The seam for storage fault tests (edgefed/sqlite/database.hpp).
  std::string vfs{};
};

// One stored update, ready to POST.
struct PendingUpdate {
  std::string update_id;
  int64_t base_version = 0;
  int64_t created_ms = 0;
  int64_t attempts = 0;  // POSTs tried so far (persisted)
  std::string body;      // the encoded safetensors update
};

// What is waiting to be sent.
struct OutboxDepth {
  int64_t updates = 0;
  int64_t telemetry = 0;
  int64_t bytes = 0;
  int64_t records() const { return updates + telemetry; }
};

// The agent's own journal: totals kept durably in the outbox, in the same
// transactions that change the queues, so after any crash
//   updates_created   == pending updates   + updates_acked   + updates_rejected   + updates_dropped
//   telemetry_created == pending telemetry + telemetry_acked + telemetry_rejected + telemetry_dropped
// holds. The server must hold exactly updates_acked updates and
// telemetry_acked records of this agent: none lost, none counted twice.
struct JournalCounts {
  int64_t updates_created = 0;
  int64_t updates_sent = 0;        // POST attempts, resends included
  int64_t updates_acked = 0;       // distinct updates the server acknowledged
  int64_t updates_duplicate = 0;   // of those, acks that said "seen before"
  int64_t updates_rejected = 0;    // permanent 4xx: dropped, never retried
  int64_t updates_dropped = 0;     // dropped by the bounding policy
  int64_t telemetry_created = 0;
  int64_t telemetry_sent = 0;      // records posted, resends included
  int64_t telemetry_acked = 0;
  int64_t telemetry_rejected = 0;
  int64_t telemetry_dropped = 0;
  // Secure aggregation rounds (FORMAT.md, "Secure aggregation"):
  //   secagg_rounds_created == secagg_rounds_done + secagg_rounds_aborted + the round stored (0 or 1)
  int64_t secagg_rounds_created = 0;
  int64_t secagg_rounds_done = 0;     // the server merged the session's sum
  int64_t secagg_rounds_aborted = 0;  // aborted, excluded, unknown to the server, refused here
};

// One journal row (FORMAT.md): what happened to a record.
struct JournalEntry {
  std::string kind;     // "update" or "telemetry"
  std::string ref;      // the update id, or the seq range "FIRST-LAST"
  std::string outcome;  // "acked", "rejected" or "dropped"
};

// The agent's one current secure-aggregation round (table secagg_rounds):
// what it needs to finish the session after a restart.
struct SecAggRound {
  std::string session;            // the server's session id (1-128 of [A-Za-z0-9._:-])
  int64_t base_version = 0;       // the model version trained on
  int64_t num_samples = 0;        // >= 1
  double train_loss = 0;
  // ClientRound::snapshot(): holds the round's secret keys until the
  // masked input is made (FORMAT.md).
  std::vector<uint8_t> snapshot;
  std::vector<float> delta;       // the update (local - global), clipped to the task's update_clip_norm
  int64_t created_unix_ms = 0;
  // Distributed DP: z * update_clip_norm (0 = none). The masked input adds
  // N(0, dp_sigma^2 / t) per coordinate, t the session's threshold
  // (docs/secure-aggregation.md).
  double dp_sigma = 0;
};

// How a secure-aggregation round ended (its journal counter).
enum class SecAggEnd { kDone, kAborted };

// Result of add_update / add_telemetry: what the bounding policy removed.
struct Dropped {
  int64_t updates = 0;
  int64_t telemetry = 0;
};

}  // namespace edgefed::agent
